"""When code generation ends the worker lowers ``in_jit`` but wakes the GC condition instead
of the client's, so a ``gc_start_hook`` waiting for code generation is never woken.

A lost wake-up (a notify on the wrong condition).  Breaks GC-6; the protocol machine finds it
as a deadlock: the host waits for code generation, the worker for work."""

from . import mutate

create_engine = mutate(__name__, "_convert.py",
                       old=("            engine.state.in_jit = False\n"
                            "            engine.state.client_wakeup.notify_all()\n"),
                       new=("            engine.state.in_jit = False\n"
                            "            engine.state.gc_wakeup.notify_all()\n"))
