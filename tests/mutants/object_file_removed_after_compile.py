"""A unit's .o is deleted as soon as its own library is linked, so no compaction can link it.

Breaks COMPACT-5 (and COMPACT-1, COMPACT-2, COMPACT-6, which need a successful compaction)."""

from . import mutate

create_engine = mutate(__name__, "_convert.py",
                       old="        unit.o_file = o_file\n",
                       new="        unit.o_file = o_file\n        remove_if_exists(o_file)\n")
