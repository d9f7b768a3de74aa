"""The worker takes the last queued unit among those with the most calls, not the first.

Breaks QUEUE-2."""

from . import mutate

create_engine = mutate(__name__, "_queue.py",
                       old="        if best is None or best.iseq.body.total_calls < unit.iseq.body.total_calls:\n",
                       new="        if best is None or best.iseq.body.total_calls <= unit.iseq.body.total_calls:\n")
