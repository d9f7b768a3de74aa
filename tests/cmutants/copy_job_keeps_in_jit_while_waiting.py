"""mjit_copy_cache_from_main_thread keeps in_jit set while it waits for the copy job.

Breaks COPYJOB-2: a GC started meanwhile blocks in mjit_gc_start_hook, so the main thread never
runs the job the worker waits for."""

from . import patch

create_engine = patch(__name__, "mjit_worker.c",
                      old=("    in_jit = false; // To avoid deadlock, allow running GC while waiting for copy job\n"
                           "    rb_native_cond_signal(&mjit_client_wakeup); // Unblock main thread waiting in `mjit_gc_start_hook`\n"),
                      new="")
