"""The worker never raises in_jit before generating code, so gc_start_hook does not wait for
code generation and a GC overlaps generate_code.

Breaks GC-1 and GC-2; the protocol machine finds it as a host violation."""

from . import mutate

create_engine = mutate(__name__, "_convert.py",
                       old="                engine.state.in_jit = started\n",
                       new="                engine.state.in_jit = False\n")
