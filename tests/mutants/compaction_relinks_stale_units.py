"""Compaction links every unit that has a .o, the units a recompile replaced included, and
rebinds their ISeqs after the active ones: a recompiled method goes back to its old code.

Breaks RECOMPILE-1."""

from . import mutate

create_engine = mutate(__name__, edits=(
    ('_compaction.py',
     '        o_files = [u.o_file for u in engine.active_units if u.o_file]\n',
     '        o_files = [u.o_file for u in list(engine.active_units) + list(engine.stale_units)\n'
     '                   if u.o_file]\n'),
    ('_compaction.py',
     '        for cur in engine.active_units:\n',
     '        for cur in list(engine.active_units) + list(engine.stale_units):\n'),
))
