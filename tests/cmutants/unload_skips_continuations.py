"""unload_units marks the units of the living threads' stacks but not those of saved
continuations, so code a suspended fiber will resume in may be unloaded.

Breaks UNLOAD-2."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old=("    for (cont = first_cont; cont != NULL; cont = cont->next) {\n"
                           "        mark_ec_units(cont->ec);\n"
                           "    }\n"),
                      new="")
