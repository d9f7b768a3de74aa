"""With --jit-wait the worker registers the copy job with rb_workqueue_register instead of running
the handler inline.

Breaks COPYJOB-7."""

from . import patch

create_engine = patch(__name__, "mjit_worker.c",
                      old=("    if (UNLIKELY(mjit_opts.wait)) {\n"
                           "        mjit_copy_job_handler((void *)job);\n"
                           "    }\n"
                           "    else if (rb_workqueue_register"),
                      new="    if (rb_workqueue_register")
