"""unload_units does not drop the units of freed ISeqs first: it passes over them as if in
use and unloads live code instead, leaving the dead units (and their files) in the cache.

Breaks UNLOAD-5."""

from . import mutate

create_engine = mutate(
    __name__, "_unload.py",
    old=("    for unit in active:\n"
         "        if unit.iseq is None:\n"
         "            active.remove(unit)\n"
         "            free_unit(engine, unit)\n"
         "\n"
         "    # UNLOAD-2: code with a frame on any thread's or continuation's stack stays.\n"
         "    on_stack = {id(iseq) for iseq in engine.host.iseqs_on_stack()}\n"
         "    for unit in active:\n"
         "        unit.used_code_p = id(unit.iseq) in on_stack\n"),
    new=("    on_stack = {id(iseq) for iseq in engine.host.iseqs_on_stack()}\n"
         "    for unit in active:\n"
         "        unit.used_code_p = unit.iseq is None or id(unit.iseq) in on_stack\n"))
