"""Verbose lines print one level early: verbose=0 prints the per-unit lines, and
warnings=True prints more than warnings.

Breaks OPT-4."""

from . import mutate

create_engine = mutate(__name__, '_log.py',
                       old=('        if self.level >= level:\n'),
                       new=('        if self.level + 1 >= level:\n'))
