"""Compaction rebinds every ISeq to the first active unit's function in the combined library.

Breaks COMPACT-2: methods run from the compacted library but return another method's values."""

from . import mutate

create_engine = mutate(__name__, "_compaction.py",
                       old="            funcname = funcname_of(cur.id)\n",
                       new="            funcname = funcname_of(engine.state.active_units._units[0].id)\n")
