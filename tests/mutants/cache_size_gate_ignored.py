"""The worker dequeues whenever the queue is not empty, even with max_cache_size active units.

Breaks QUEUE-6."""

from . import mutate

create_engine = mutate(__name__, "_worker.py",
                       old=("                while ((engine.state.unit_queue.length == 0\n"
                            "                        or engine.state.active_units.length >= engine.state.max_cache_size)\n"
                            "                       and not engine.state.stop_worker_p):\n"),
                       new=("                while engine.state.unit_queue.length == 0 and not engine.state.stop_worker_p:\n"))
