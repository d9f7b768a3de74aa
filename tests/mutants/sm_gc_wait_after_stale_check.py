"""gc_start_hook reads ``in_jit`` before it takes the lock and then waits once for a wake-up:
if the worker lowers ``in_jit`` and notifies in between, the notify is lost and the host
waits for a code generation that already ended.

A lost wake-up (the notify comes before the waiter checks its predicate under the lock).
Breaks GC-6; the protocol machine finds it as a deadlock."""

from . import mutate

create_engine = mutate(__name__, "_engine.py",
                       old=("        with self.lock:\n"
                            "            while self.in_jit:  # GC-2\n"),
                       new=("        busy = self.in_jit  # checked before taking the lock\n"
                            "        with self.lock:\n"
                            "            if busy:  # GC-2\n"))
