"""add_iseq_to_process marks a method NOT_READY only while a worker runs: a method queued
while the engine is paused stays NOT_ADDED until the resumed worker publishes it.

Breaks QUEUE-1."""

from . import mutate

create_engine = mutate(__name__, "_engine.py",
                       old="        iseq.body.jit_func = JitState.NOT_READY  # QUEUE-1\n",
                       new=("        if not self.state.worker_stopped:\n"
                            "            iseq.body.jit_func = JitState.NOT_READY\n"))
