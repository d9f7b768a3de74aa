"""finish leaves the precompiled header in the tmp dir.

Breaks PCH-5."""

from . import mutate

create_engine = mutate(__name__, "_lifecycle.py",
                       old="    if not engine.options.save_temps and os.getpid() == engine.state.pch_owner_pid:\n",
                       new="    if False:\n")
