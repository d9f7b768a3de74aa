"""add_iseq_to_process queues the method without setting its jit_func to NOT_READY.

Breaks QUEUE-1."""

from . import mutate

create_engine = mutate(__name__, "_engine.py",
                       old="        iseq.body.jit_func = JitState.NOT_READY  # QUEUE-1\n",
                       new="")
