"""After waiting, the worker does not check whether free_iseq cleared the job's ISeq, so a
job that copied nothing counts as a successful copy.

Breaks COPYJOB-4: generation goes on for a freed ISeq with empty cache buffers."""

from . import mutate

create_engine = mutate(__name__, "_copyjob.py",
                       old="            if job.iseq is None:\n"
                           "                # COPYJOB-4: free_iseq cleared it while we waited.\n"
                           "                success = False\n",
                       new="")
