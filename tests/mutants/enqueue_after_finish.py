"""add_iseq_to_process does not check that the engine is enabled: after finish it still marks
the method NOT_READY and queues it (for a worker that no longer exists).

Breaks QUEUE-5."""

from . import mutate

create_engine = mutate(__name__, "_engine.py",
                       old="        if not self.state.enabled or self.state.pch_status is PchStatus.FAILED:\n",
                       new="        if self.state.pch_status is PchStatus.FAILED:\n")
