"""unload_units marks the units of saved continuations but not those on the living threads'
stacks, so code a running thread is in may be unloaded.

Breaks UNLOAD-2."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old=("    list_for_each(&vm->living_threads, th, vmlt_node) {\n"
                           "        mark_ec_units(th->ec);\n"
                           "    }\n"),
                      new="")
