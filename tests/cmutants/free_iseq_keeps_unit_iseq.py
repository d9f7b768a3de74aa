"""mjit_free_iseq does not clear the ISeq of the freed method's current unit, so the unit (queued
or active) keeps pointing at the freed ISeq: it is compiled, compacted or unloaded into a freed
body.

Breaks QUEUE-3, GC-5, COMPACT-4 and UNLOAD-5."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old=("        iseq->body->jit_unit->iseq = NULL;\n"
                           "    }\n"),
                      new="    }\n")
