"""A unit whose compilation failed is put back in the queue once, so the method is compiled
again although NOT_COMPILED is terminal.

Breaks LOAD-3."""

from . import mutate

create_engine = mutate(__name__, "_worker.py",
                       old=("            if is_compiled(func):\n"
                            "                engine.state.active_units.add(unit)\n"),
                       new=("            if is_compiled(func):\n"
                            "                engine.state.active_units.add(unit)\n"
                            "            elif unit.compile_info != \"retried\":\n"
                            "                unit.compile_info = \"retried\"\n"
                            "                engine.state.unit_queue.add(unit)\n"
                            "                func = JitState.NOT_READY\n"))
