"""Freeing a unit deletes its .o even when it was inherited from the parent process, so a
forked child that unloads (or finishes) removes the parent's files.

Breaks UNLOAD-4 (and FORK-2)."""

from . import mutate

create_engine = mutate(
    __name__, "_unload.py",
    old="    if o_file and not engine.options.save_temps and not unit.o_file_inherited_p:\n",
    new="    if o_file and not engine.options.save_temps:\n")
