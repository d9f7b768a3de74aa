"""pause(wait=True) drains in a loop that looks only at the queue and the cache, as CRuby
2.7's mjit_pause does: when the worker stops with units still queued (a failed header build),
the loop never ends.

Breaks STOP-2."""

from . import mutate

create_engine = mutate(__name__, '_lifecycle.py',
                       old=('               and engine.state.active_units.length < engine.state.max_cache_size\n'
                            '               and not engine.state.worker_stopped):\n'),
                       new=('               and engine.state.active_units.length < engine.state.max_cache_size):\n'))
