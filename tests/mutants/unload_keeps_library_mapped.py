"""unload_units drops the unloaded unit's handle without dlclose: its library stays mapped.

Breaks UNLOAD-4."""

from . import mutate

create_engine = mutate(__name__, "_unload.py",
                       old="        active.remove(worst)\n        free_unit(engine, worst)\n",
                       new=("        active.remove(worst)\n"
                            "        worst.handle = None\n"
                            "        free_unit(engine, worst)\n"))
