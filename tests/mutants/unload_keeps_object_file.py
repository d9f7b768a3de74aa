"""unload_units forgets the unloaded unit's .o instead of deleting it.

Breaks UNLOAD-4."""

from . import mutate

create_engine = mutate(__name__, "_unload.py",
                       old="        active.remove(worst)\n        free_unit(engine, worst)\n",
                       new=("        active.remove(worst)\n"
                            "        worst.o_file = None\n"
                            "        free_unit(engine, worst)\n"))
