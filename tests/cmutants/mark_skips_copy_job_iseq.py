"""mjit_mark marks the queued ISeqs but not the copy job's ISeq.

Breaks GC-7: GC frees an ISeq while the worker waits for its copy job."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old="    if (iseq) rb_gc_mark(iseq);\n",
                      new="")
