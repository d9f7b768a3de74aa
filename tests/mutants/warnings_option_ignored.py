"""Warnings print only with verbose: warnings=True alone prints nothing.

Breaks OPT-4."""

from . import mutate

create_engine = mutate(__name__, '_log.py',
                       old=('        if self.warnings or self.level:\n'),
                       new=('        if self.level:\n'))
