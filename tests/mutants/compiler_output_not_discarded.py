"""Compiler stdout and stderr go to the process's own even with verbose 0.

Breaks COMPILE-6."""

from . import mutate

create_engine = mutate(__name__, "_toolchain.py",
                       old="        quiet = self.log.level == 0\n",
                       new="        quiet = False\n")
