"""mjit_pause of an already stopped worker returns Qtrue instead of Qfalse.

Breaks STOP-3."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old=("    if (worker_stopped) {\n"
                           "        return Qfalse;\n"
                           "    }\n"
                           "\n"
                           "    // Flush"),
                      new=("    if (worker_stopped) {\n"
                           "        return Qtrue;\n"
                           "    }\n"
                           "\n"
                           "    // Flush"))
