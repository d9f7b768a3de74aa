"""mjit_pause(wait: true) drains the queue even when the cache is full and the worker will dequeue
nothing, so it never returns.

Breaks STOP-2."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old="        while (unit_queue.length > 0 && active_units.length < mjit_opts.max_cache_size) {",
                      new="        while (unit_queue.length > 0) {")
