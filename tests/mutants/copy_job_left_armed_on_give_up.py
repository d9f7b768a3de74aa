"""When stopping ends its wait, the worker gives up on the copy job without disabling it or
clearing its ISeq and buffers.

Breaks COPYJOB-6: the pending job, run after the worker gave up, copies the caches."""

from . import mutate

create_engine = mutate(__name__, "_copyjob.py",
                       old="            success = job.finish_p\n"
                           "            job.finish_p = True\n",
                       new="            success = job.finish_p\n"
                           "            if engine.state.stop_worker_p and not success:\n"
                           "                engine.state.in_jit = True\n"
                           "                return False\n"
                           "            job.finish_p = True\n")
