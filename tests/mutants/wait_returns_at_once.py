"""wait returns at once instead of waiting while the method is NOT_READY.

Breaks WAIT-1: the call that reaches min_calls runs in the interpreter."""

from . import mutate

create_engine = mutate(__name__, "_engine.py",
                       old="        while body.jit_func == JitState.NOT_READY:\n",
                       new="        while False:\n")
