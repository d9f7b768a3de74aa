"""free_iseq does not clear the ISeq of the freed method's unit, so a queued unit of a freed
ISeq is still compiled and a result is published into a freed ISeq.

Breaks QUEUE-3 and LOAD-2."""

from . import mutate

create_engine = mutate(__name__, "_engine.py",
                       old=("            if unit is not None:\n"
                            "                unit.iseq = None\n"),
                       new=("            if unit is not None:\n"
                            "                pass\n"))
