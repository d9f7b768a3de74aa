"""The worker's wait for the copy job ends only when the job ran, not when stop_worker_p is set.

Breaks COPYJOB-5: the handler returns at once while stopping, so pause and finish wait for ever
for a worker that waits for the job."""

from . import patch

create_engine = patch(__name__, "mjit_worker.c",
                      old="        while (!job->finish_p && !stop_worker_p) {\n",
                      new="        while (!job->finish_p) {\n")
