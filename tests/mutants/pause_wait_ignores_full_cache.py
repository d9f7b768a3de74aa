"""pause(wait=True) waits for the queue to drain even when the cache is full and the worker
will dequeue nothing, so it never returns.

Breaks STOP-2."""

from . import mutate

create_engine = mutate(__name__, '_lifecycle.py',
                       old=('               and engine.state.active_units.length < engine.state.max_cache_size\n'),
                       new=(''))
