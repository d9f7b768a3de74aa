"""stop_worker never runs RUBY_VM_CHECK_INTS while it waits for the worker, so a pending copy job
is not run.

Breaks STOP-5."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old=("        CRITICAL_SECTION_FINISH(3, \"in stop_worker\");\n"
                           "        RUBY_VM_CHECK_INTS(ec);\n"),
                      new="        CRITICAL_SECTION_FINISH(3, \"in stop_worker\");\n")
