"""Compaction links every unit that has a .o, the units a recompile replaced included, and
rebinds their ISeqs after the active ones: a recompiled method goes back to its old code.

Breaks RECOMPILE-1."""

from . import mutate

create_engine = mutate(__name__, edits=(
    ('_compaction.py',
     '        o_files = [u.o_file for u in engine.state.active_units if u.o_file]\n',
     '        o_files = [u.o_file for u in list(engine.state.active_units) + list(engine.state.stale_units)\n'
     '                   if u.o_file]\n'),
    ('_compaction.py',
     '        for cur in engine.state.active_units:\n',
     '        for cur in list(engine.state.active_units) + list(engine.state.stale_units):\n'),
))
