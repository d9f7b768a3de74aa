"""mjit_mark marks the copy job's ISeq but not the ISeqs of queued units.

Breaks GC-7: GC frees an ISeq whose unit waits in the queue."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old=("            rb_gc_mark(iseq);\n"
                           "\n"
                           "            CRITICAL_SECTION_START(4, \"mjit_mark rb_gc_mark\");\n"),
                      new="            CRITICAL_SECTION_START(4, \"mjit_mark rb_gc_mark\");\n")
