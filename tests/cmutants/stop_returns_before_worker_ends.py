"""stop_worker sets stop_worker_p and wakes the worker once, then returns without waiting for
worker_stopped.

Breaks STOP-1 and FINISH-1 (pause and finish return while the worker still runs)."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old=("    while (!worker_stopped) {\n"
                           "        verbose(3, \"Sending cancel signal to worker\");\n"),
                      new=("    if (!worker_stopped) {\n"
                           "        verbose(3, \"Sending cancel signal to worker\");\n"))
