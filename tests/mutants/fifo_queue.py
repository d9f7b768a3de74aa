"""The worker takes queued units first in, first out, ignoring their call counts.

Breaks QUEUE-2 and QUEUE-7."""

from . import mutate

create_engine = mutate(__name__, "_queue.py",
                       old="        if best is None or best.iseq.body.total_calls < unit.iseq.body.total_calls:\n",
                       new="        if best is None:\n")
