"""Compiler stdout and stderr are discarded even with verbose.

Breaks COMPILE-6."""

from . import mutate

create_engine = mutate(__name__, "_toolchain.py",
                       old="        quiet = self.log.level == 0\n",
                       new="        quiet = True\n")
