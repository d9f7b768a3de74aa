"""child_after_fork marks only the active units' .o files as inherited, as CRuby 2.7's
mjit_child_after_fork does: a unit the parent replaced by a recompile before the fork is
stale, and the child's finish deletes the parent's .o of it.

Breaks FORK-2."""

from . import mutate

create_engine = mutate(__name__, '_lifecycle.py',
                       old='    for units in (engine.state.active_units, engine.state.stale_units):\n',
                       new='    for units in (engine.state.active_units,):\n')
