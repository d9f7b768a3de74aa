"""finish removes the precompiled header even with save_temps.

Breaks OPT-5."""

from . import mutate

create_engine = mutate(__name__, '_lifecycle.py',
                       old=('    if not engine.options.save_temps and os.getpid() == engine.state.pch_owner_pid:\n'),
                       new=('    if os.getpid() == engine.state.pch_owner_pid:\n'))
