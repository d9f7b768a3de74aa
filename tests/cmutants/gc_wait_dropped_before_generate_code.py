"""convert_unit_to_func starts mjit_compile without waiting for in_gc to end.

Breaks GC-1 and GC-3: code generation runs between mjit_gc_start_hook and mjit_gc_exit_hook."""

from . import patch

create_engine = patch(__name__, "mjit_worker.c",
                      old=("    CRITICAL_SECTION_START(3, \"before mjit_compile to wait GC finish\");\n"
                           "    while (in_gc) {\n"),
                      new=("    CRITICAL_SECTION_START(3, \"before mjit_compile to wait GC finish\");\n"
                           "    while (false) {\n"))
