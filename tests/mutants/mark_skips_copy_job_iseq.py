"""mark returns only the queued ISeqs, not the copy job's ISeq.

Breaks GC-7: GC frees an ISeq while the worker waits for its copy job."""

from . import mutate

create_engine = mutate(__name__, "_engine.py",
                       old="            keep = [self.state.copy_job.iseq] if self.state.copy_job.iseq is not None else []\n",
                       new="            keep = []\n")
