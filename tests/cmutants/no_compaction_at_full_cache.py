"""The worker compacts only when the queue drains outside wait mode, never when the cache fills.

Breaks COMPACT-6."""

from . import patch

create_engine = patch(__name__, "mjit_worker.c",
                      old="                || active_units.length == mjit_opts.max_cache_size) {\n",
                      new=") {\n")
