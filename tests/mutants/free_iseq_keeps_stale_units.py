"""free_iseq clears the ISeq of its current unit but not of the stale units recompile left,
so finish writes into the freed ISeq when it frees them.

Breaks RECOMPILE-4."""

from . import mutate

create_engine = mutate(__name__, "_engine.py",
                       old=("            for stale in self.state.stale_units:  # RECOMPILE-4\n"
                            "                if stale.iseq is iseq:\n"
                            "                    stale.iseq = None\n"),
                       new="")
