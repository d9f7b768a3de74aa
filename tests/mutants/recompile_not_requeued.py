"""recompile discards the code (NOT_ADDED) but never queues the method again; the call path
does not queue it either, since it is past min_calls.

Breaks RECOMPILE-1."""

from . import mutate

create_engine = mutate(
    __name__, "_engine.py",
    old="        self.add_iseq_to_process(iseq, unit.compile_info if unit is not None else None)\n",
    new="")
