"""free_iseq forgets the ISeq only of a queued unit: an active unit keeps pointing at its freed
ISeq, so the next compaction (or unload) writes into the freed ISeq's body.

Breaks COMPACT-4 and UNLOAD-5."""

from . import mutate

create_engine = mutate(__name__, "_engine.py",
                       old=("            unit = iseq.body.jit_unit\n"
                            "            if unit is not None:\n"),
                       new=("            unit = iseq.body.jit_unit\n"
                            "            if unit is not None and unit in self.state.unit_queue:\n"))
