"""The worker's wait for the copy job ends only when the job ran, not when stopping.

Breaks COPYJOB-5 (and STOP-5): the handler returns at once while stopping, so pause and
finish wait forever for a worker that waits for the job."""

from . import mutate

create_engine = mutate(__name__, "_copyjob.py",
                       old="                while not job.finish_p and not engine.state.stop_worker_p:\n",
                       new="                while not job.finish_p:\n")
