"""child_after_fork closes the compacted libraries, as if they were the parent's to keep: in
the child, the code every compacted method is bound to is unmapped.

Breaks FORK-6."""

from . import mutate

create_engine = mutate(__name__, '_lifecycle.py',
                       old='                unit.o_file_inherited_p = True\n',
                       new=('                unit.o_file_inherited_p = True\n'
                            '    free_list(engine, engine.state.compact_units, True)\n'))
