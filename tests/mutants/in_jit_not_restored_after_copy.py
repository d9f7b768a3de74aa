"""After the copy job the worker goes on generating code without taking in_jit back, so GC may
start during the rest of generate_code.

Breaks GC-2 (a GC starts while code generation runs after a copy job ended)."""

from . import mutate

create_engine = mutate(__name__, "_copyjob.py",
                       old="            engine.state.in_jit = True\n"
                           "            if job.iseq is None:\n",
                       new="            if job.iseq is None:\n")
