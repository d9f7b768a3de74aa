"""The copy job's handler does not check finish_p, so it would run a disabled job (one the
worker gave up on, or one being refilled).

Meant to break COPYJOB-6.  In mjit_ref, as in the C, the worker also clears the job's ISeq
whenever it disables the job, so the handler's ISeq check still stops it: no test can tell
this engine from the reference (an equivalent mutant, kept to document that)."""

from . import mutate

create_engine = mutate(__name__, "_copyjob.py",
                       old="        if job.finish_p:\n"
                           "            return\n",
                       new="")
