"""Freeing a unit forgets its .o without removing it, so object files kept for compaction
outlive finish.

Breaks FINISH-2 and COMPACT-5."""

from . import mutate

create_engine = mutate(__name__, "_unload.py",
                       old="    if o_file and not engine.options.save_temps and not unit.o_file_inherited_p:\n",
                       new="    if o_file and False:\n")
