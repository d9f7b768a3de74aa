"""A failed compile, link or load resets the method to NOT_ADDED instead of NOT_COMPILED, as
if it had never been queued.

Breaks LOAD-3 and COMPILE-4."""

from . import mutate

create_engine = mutate(__name__, "_convert.py",
                       old="NOT_COMPILED = JitState.NOT_COMPILED\n",
                       new="NOT_COMPILED = JitState.NOT_ADDED\n")
