"""finish removes the precompiled header in any process, so a forked child deletes the
header its parent built and still uses.

Breaks PCH-5 and FORK-3."""

from . import mutate

create_engine = mutate(__name__, "_lifecycle.py",
                       old="    if not engine.options.save_temps and os.getpid() == engine.state.pch_owner_pid:\n",
                       new="    if not engine.options.save_temps:\n")
