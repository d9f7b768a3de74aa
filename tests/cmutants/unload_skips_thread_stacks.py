"""unload_units marks the units of saved continuations but not those on the living threads'
stacks, so code a running thread is in may be unloaded.

Breaks UNLOAD-2."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old=("    list_for_each(&vm->living_threads, th, vmlt_node) {\n"
                           "        mark_ec_units(th->ec);\n"
                           "    }\n"),
                      new="")

SUITE_GAP = ("UNLOAD-2's tests hold frames with host.frame, which the CRuby profile hands to "
             "unload_units as a saved continuation; no test has a compiled method's frame on "
             "the running thread's stack when units are unloaded (the frames there are of "
             "methods being called, whose units are not active yet).")
