"""Unit compiles leave out the debug_flags option (only the header build gets them).

Breaks OPT-3."""

from . import mutate

create_engine = mutate(__name__, '_toolchain.py',
                       old=('        return [*self.common_args, *self.codeflag_args, *self.added_args, *files,\n'),
                       new=('        return [*self.common_args, *self.codeflag_args, *files,\n'))
