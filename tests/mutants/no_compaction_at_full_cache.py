"""Compaction runs only when the queue drains outside wait mode, never when the cache fills.

Breaks COMPACT-6."""

from . import mutate

create_engine = mutate(__name__, "_worker.py",
                       old="\n            or active_len == engine.state.max_cache_size):\n",
                       new="):\n")
