"""mjit_copy_cache_from_main_thread reports success even when stopping ended its wait before the
job ran (success_p is not taken from finish_p).

Breaks COPYJOB-5: code is generated from cache buffers nothing was copied into."""

from . import patch

create_engine = patch(__name__, "mjit_worker.c",
                      old="    bool success_p = job->finish_p;\n",
                      new="    bool success_p = true;\n")
