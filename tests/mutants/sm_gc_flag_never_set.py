"""gc_start_hook waits for code generation but never sets in_gc, so the worker neither waits
for GC before generating code nor before publishing a result.

Breaks GC-1, GC-3 and GC-4."""

from . import mutate

create_engine = mutate(__name__, "_engine.py",
                       old="                self.state.client_wakeup.wait()\n            self.state.in_gc = True\n",
                       new="                self.state.client_wakeup.wait()\n            self.state.in_gc = False\n")
