"""The worker reads ``in_gc`` before it takes the lock, and waits for GC only if that early
read said GC runs: a GC that starts between the read and the lock is not waited for.

A flag read outside the lock.  Breaks GC-1 and GC-3; the protocol machine finds it as a host
violation (code generated during GC)."""

from . import mutate

create_engine = mutate(__name__, "_convert.py",
                       old=("            with engine.state.lock:\n"
                            "                # GC-3: wait until gc_exit_hook.\n"
                            "                while engine.state.in_gc:\n"),
                       new=("            gc_seen = engine.state.in_gc  # read outside the lock\n"
                            "            with engine.state.lock:\n"
                            "                # GC-3: wait until gc_exit_hook.\n"
                            "                while gc_seen and engine.state.in_gc:\n"))
