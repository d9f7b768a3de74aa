"""finish closes every handle even with close_handle=False, unmapping code that may still
be running.

Breaks FINISH-3."""

from . import mutate

create_engine = mutate(__name__, '_unload.py',
                       old=('        if not close_handle:\n'
                            '            unit.handle = None\n'),
                       new=('        if False:\n'
                            '            unit.handle = None\n'))
