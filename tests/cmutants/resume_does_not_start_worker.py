"""mjit_resume reports success without starting a worker: queued units are never compiled.

Breaks STOP-4."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old=("    if (!start_worker()) {\n"
                           "        rb_raise(rb_eRuntimeError, \"Failed to resume MJIT worker\");\n"),
                      new=("    if (false) {\n"
                           "        rb_raise(rb_eRuntimeError, \"Failed to resume MJIT worker\");\n"))
