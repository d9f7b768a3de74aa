"""debug does not switch to the debug flags: compiles keep the optimisation flags.

Breaks COMPILE-7 (and OPT-3)."""

from . import mutate

create_engine = mutate(__name__, "_toolchain.py",
                       old="        self.codeflag_args = DEBUG_ARGS if debug else OPTIMIZE_ARGS\n",
                       new="        self.codeflag_args = OPTIMIZE_ARGS\n")
