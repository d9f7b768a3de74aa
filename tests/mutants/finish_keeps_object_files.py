"""finish forgets every unit's .o instead of removing it: the files stay in the tmp dir.

Breaks FINISH-2 (and COMPACT-5)."""

from . import mutate

create_engine = mutate(__name__, '_unload.py',
                       old=('    for unit in units.clear():\n'
                            '        if not close_handle:\n'
                            '            unit.handle = None\n'
                            '        free_unit(engine, unit)\n'),
                       new=('    for unit in units.clear():\n'
                            '        if not close_handle:\n'
                            '            unit.handle = None\n'
                            '        unit.o_file = None\n'
                            '        free_unit(engine, unit)\n'))
