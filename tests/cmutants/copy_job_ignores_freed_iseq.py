"""After its wait the worker does not look whether mjit_free_iseq cleared the job's ISeq, so a job
that copied nothing counts as a successful copy.

Breaks COPYJOB-4: generation goes on for a freed ISeq with empty cache buffers."""

from . import patch

create_engine = patch(__name__, "mjit_worker.c",
                      old=("    if (job->iseq == NULL) // ISeq GC is notified in mjit_mark_iseq\n"
                           "        success_p = false;\n"),
                      new="")
