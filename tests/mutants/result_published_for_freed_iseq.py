"""free_iseq does not clear the ISeq of its unit, so the worker generates, compiles and
publishes code for an ISeq GC freed.

Breaks GC-5 (a freed ISeq whose unit waited for GC is generated) and LOAD-2 (a result is
published for a freed ISeq)."""

from . import mutate

create_engine = mutate(__name__, "_engine.py",
                       old="            if unit is not None:\n"
                           "                unit.iseq = None\n",
                       new="")
