"""mjit_child_after_fork starts no worker: the child queues methods that are never compiled.

Breaks FORK-1."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old=("    /* MJIT worker thread is not inherited on fork. Start it for this child process. */\n"
                           "    start_worker();\n"),
                      new="")
