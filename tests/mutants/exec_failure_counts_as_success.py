"""A compiler that cannot be started counts as a successful run, so a missing compiler
"builds" a header that does not exist and the engine stays enabled.

Breaks FAULT-4 (and PCH-3)."""

from . import mutate

create_engine = mutate(__name__, '_toolchain.py',
                       old=('            return -2\n'),
                       new=('            return 0\n'))
