"""Verbose lines print only above their level: verbose=1 prints no success, failure or
compaction line.

Breaks OPT-4."""

from . import mutate

create_engine = mutate(__name__, '_log.py',
                       old=('        if self.level >= level:\n'),
                       new=('        if self.level > level:\n'))
