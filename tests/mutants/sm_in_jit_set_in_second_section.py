"""The worker leaves the critical section in which it waited for GC to end before it raises
``in_jit`` in a second one, so a GC can start in between and overlap code generation.

A window bug between two critical sections.  Breaks GC-1 and GC-3; the protocol machine
finds it as a host violation."""

from . import mutate

create_engine = mutate(__name__, "_convert.py",
                       old=("                started = unit.iseq is not None\n"
                            "                engine.state.in_jit = started\n"),
                       new=("                started = unit.iseq is not None\n"
                            "            with engine.state.lock:\n"
                            "                engine.state.in_jit = started\n"))
