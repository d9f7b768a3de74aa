"""child_after_fork starts no worker: the child queues methods that are never compiled.

Breaks FORK-1 (and FORK-4)."""

from . import mutate

create_engine = mutate(__name__, '_lifecycle.py',
                       old=('                unit.o_file_inherited_p = True\n'
                            '    start_worker(engine)\n'),
                       new=('                unit.o_file_inherited_p = True\n'))
