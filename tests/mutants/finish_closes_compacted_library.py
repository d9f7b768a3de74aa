"""finish(close_handle=False) still closes the compacted libraries (only the units' own
libraries stay mapped), so compacted code that may still be running is unmapped.

Breaks FINISH-3."""

from . import mutate

create_engine = mutate(__name__, '_lifecycle.py',
                       old='            free_list(engine, units, close_handle)\n',
                       new=('            free_list(engine, units,\n'
                            '                      close_handle or units is engine.state.compact_units)\n'))
