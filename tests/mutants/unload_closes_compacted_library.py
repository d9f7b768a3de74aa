"""Unloading also closes the compacted libraries (to drop the unloaded code from them), so
the code every other compacted method still runs is unmapped under it.

Breaks UNLOAD-4 (the compacted copy stays until finish) and COMPILE-1."""

from . import mutate

create_engine = mutate(__name__, '_unload.py',
                       old=('    if units_num == active.length and engine.options.wait:\n'),
                       new=('    free_list(engine, engine.state.compact_units, True)\n'
                            '    if units_num == active.length and engine.options.wait:\n'))
