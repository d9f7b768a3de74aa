"""mjit_gc_start_hook enters GC at once, without waiting while the worker generates code (in_jit).

Breaks GC-2: a GC starts while mjit_compile runs."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old=("    while (in_jit) {\n"
                           "        verbose(4, \"Waiting wakeup from a worker for GC\");\n"),
                      new=("    while (false) {\n"
                           "        verbose(4, \"Waiting wakeup from a worker for GC\");\n"))
