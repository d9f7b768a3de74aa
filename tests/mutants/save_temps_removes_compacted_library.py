"""The compacted library is removed once loaded even with save_temps (only the units' own
files are kept).

Breaks OPT-5."""

from . import mutate

create_engine = mutate(__name__, '_compaction.py',
                       old=('    unit.handle = handle\n'
                            '    if not save_temps:\n'
                            '        remove_file(so_file, log)\n'),
                       new=('    unit.handle = handle\n'
                            '    remove_file(so_file, log)\n'))
