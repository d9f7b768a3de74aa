"""finish frees the queued, active and compacted units but forgets the units a recompile
replaced: their .o files stay and their libraries stay mapped.

Breaks FINISH-2 and FINISH-3."""

from . import mutate

create_engine = mutate(__name__, '_lifecycle.py',
                       old=('        for units in (state.unit_queue, state.active_units, state.compact_units,\n'
                            '                      state.stale_units):\n'),
                       new=('        for units in (state.unit_queue, state.active_units, state.compact_units):\n'))
