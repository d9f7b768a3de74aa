"""After a failed precompiled header build the worker stays enabled and goes on taking units.

Breaks PCH-3."""

from . import mutate

create_engine = mutate(__name__, "_worker.py",
                       old=("            with engine.state.lock:\n"
                            "                engine.state.enabled = False\n"
                            "            return\n"),
                       new="            pass\n")
