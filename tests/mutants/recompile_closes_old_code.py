"""recompile dlcloses the replaced unit's library at once, while a frame may still run it.

Breaks RECOMPILE-2."""

from . import mutate

create_engine = mutate(__name__, "_engine.py",
                       old="                # RECOMPILE-2: its code stays loaded until finish.\n",
                       new=("                from . import _dl\n"
                            "                _dl.dlclose(unit.handle)\n"
                            "                unit.handle = None\n"))
