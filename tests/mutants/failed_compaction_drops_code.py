"""A failed compaction link sets every active ISeq to NOT_COMPILED instead of keeping its code.

Breaks COMPACT-3."""

from . import mutate

create_engine = mutate(__name__, "_compaction.py",
                       old="        # COMPACT-3: every jit_func stays as it was.\n",
                       new=("        from pytest_mjit import JitState\n"
                            "        for cur in engine.state.active_units:\n"
                            "            if cur.iseq is not None:\n"
                            "                cur.iseq.body.jit_func = JitState.NOT_COMPILED\n"))
