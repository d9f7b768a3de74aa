"""The worker keeps in_jit while it waits for the copy job.

Breaks COPYJOB-2: a GC started meanwhile blocks in gc_start_hook, and the main thread can
no longer run the job the worker waits for (deadlock); GC-7's copy-job case hangs too."""

from . import mutate

create_engine = mutate(__name__, "_copyjob.py",
                       old="        engine.state.in_jit = False\n"
                           "        engine.state.client_wakeup.notify_all()\n"
                           "        job.finish_p = False\n",
                       new="        job.finish_p = False\n")
