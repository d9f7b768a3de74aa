"""unload_units ignores used_code_p (what mark_ec_units found on the stacks) and may unload
running code.

Breaks UNLOAD-2."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old=("            if (unit->used_code_p) // We can't unload code on stack.\n"
                           "                continue;\n"),
                      new="")
