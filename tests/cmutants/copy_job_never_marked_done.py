"""mjit_copy_job_handler copies the caches but never sets finish_p, so the worker's wait ends only
when it is stopped, and the copy then counts as failed.

Breaks COPYJOB-1 and COPYJOB-3: no unit whose code needs the copy is ever compiled."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old=("    job->finish_p = true;\n"
                           "    rb_native_cond_broadcast(&mjit_worker_wakeup);\n"),
                      new="    rb_native_cond_broadcast(&mjit_worker_wakeup);\n")
