"""finish frees every unit as if close_handle were False, so the libraries it loaded stay
mapped after finish.

Breaks FINISH-3."""

from . import mutate

create_engine = mutate(__name__, "_unload.py",
                       old="        if not close_handle:\n",
                       new="        if True:\n")
