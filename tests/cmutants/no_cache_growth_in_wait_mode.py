"""In --jit-wait mode, when nothing can be unloaded, unload_units does not raise max_cache_size:
the waiting call waits for a worker that dequeues nothing.

Breaks UNLOAD-6."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old="        mjit_opts.max_cache_size++; // avoid infinite loop on `rb_mjit_wait_call`. Note that --jit-wait is just for testing.\n",
                      new="")
