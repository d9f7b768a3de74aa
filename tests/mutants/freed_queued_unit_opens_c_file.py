"""get_from_list hands a unit whose ISeq was freed in the queue to the worker, which creates
the unit's .c before it sees the ISeq is gone and deletes it again (no code generation and no
compiler run, but a file of a freed unit appears).

Breaks QUEUE-3."""

from . import mutate

create_engine = mutate(__name__, '_queue.py',
                       old=('        if unit.iseq is None:\n'
                            '            # QUEUE-3: a freed ISeq is never compiled.\n'
                            '            units.remove(unit)\n'
                            '            free_unit(engine, unit)\n'
                            '            continue\n'),
                       new=('        if unit.iseq is None:\n'
                            '            units.remove(unit)\n'
                            '            return unit\n'))
