"""A freed unit puts its ISeq back to NOT_ADDED instead of NOT_COMPILED, so unloaded code
may be queued again.

Breaks UNLOAD-3."""

from . import mutate

create_engine = mutate(__name__, "_unload.py",
                       old="        unit.iseq.body.jit_func = JitState.NOT_COMPILED\n",
                       new="        unit.iseq.body.jit_func = JitState.NOT_ADDED\n")
