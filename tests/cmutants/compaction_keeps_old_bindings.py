"""compact_all_jit_code links and loads the combined library but never rebinds any ISeq to it.

Breaks COMPACT-1."""

from . import patch

create_engine = patch(__name__, "mjit_worker.c",
                      old="                MJIT_ATOMIC_SET(cur->iseq->body->jit_func, (mjit_func_t)func);\n",
                      new="")
