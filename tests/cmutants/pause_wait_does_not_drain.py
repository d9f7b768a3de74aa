"""mjit_pause(wait: true) stops the worker at once instead of letting it drain the queue.

Breaks STOP-2."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old=("    if (wait_p) {\n"
                           "        struct timeval tv;\n"),
                      new=("    if (false) {\n"
                           "        struct timeval tv;\n"))
