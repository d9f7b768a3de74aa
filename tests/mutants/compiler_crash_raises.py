"""A compiler killed by a signal raises out of the compile step instead of counting as a
failed compile: the unit is abandoned half way and its .c stays behind.

Breaks FAULT-2 (and COMPILE-4)."""

from . import mutate

create_engine = mutate(__name__, '_toolchain.py',
                       old=('        return -1 if code < 0 else code\n'),
                       new=('        if code < 0:\n'
                            '            raise ChildProcessError(f"{argv[0]} was killed by signal {-code}")\n'
                            '        return code\n'))
