"""child_after_fork does not mark the units' .o files as inherited, so the child's finish
deletes the parent's object files.

Breaks FORK-2."""

from . import mutate

create_engine = mutate(__name__, '_lifecycle.py',
                       old=('                unit.o_file_inherited_p = True\n'),
                       new=('                unit.o_file_inherited_p = False\n'))
