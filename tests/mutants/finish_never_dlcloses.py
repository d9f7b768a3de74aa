"""finish drops every unit's dlopen handle without closing it, even with close_handle=True:
all compiled code stays mapped.

Breaks FINISH-3."""

from . import mutate

create_engine = mutate(__name__, '_unload.py',
                       old=('        if not close_handle:\n'
                            '            unit.handle = None\n'),
                       new=('        if True:\n'
                            '            unit.handle = None\n'))
