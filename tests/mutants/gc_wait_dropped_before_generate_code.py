"""The worker starts generating code without waiting for GC to end.

Breaks GC-1 and GC-3 (generate_code runs between gc_start_hook and gc_exit_hook) and GC-5
(a unit whose ISeq the GC frees gets generated first)."""

from . import mutate

create_engine = mutate(__name__, "_convert.py",
                       old="                while engine.state.in_gc:\n"
                           "                    log.verbose(3, \"Waiting wakeup from GC\")\n"
                           "                    engine.state.gc_wakeup.wait()\n",
                       new="")
