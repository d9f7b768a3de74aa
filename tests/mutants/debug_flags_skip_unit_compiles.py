"""The added debug flags reach the header build but not the units' compiles.

Breaks COMPILE-7 (and OPT-3)."""

from . import mutate

create_engine = mutate(__name__, "_toolchain.py",
                       old=("        return [*self.common_args, *self.codeflag_args, *self.added_args, *files,\n"
                            "                *self.linker_args]\n"),
                       new=("        return [*self.common_args, *self.codeflag_args, *files,\n"
                            "                *self.linker_args]\n"))
