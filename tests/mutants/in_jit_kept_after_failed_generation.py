"""in_jit is released only when generate_code succeeds.

Breaks GC-6: after a failed generation every later gc_start_hook blocks forever."""

from . import mutate

create_engine = mutate(__name__, "_convert.py",
                       old="        with engine.state.lock:\n"
                           "            engine.state.in_jit = False\n"
                           "            engine.state.client_wakeup.notify_all()\n",
                       new="        with engine.state.lock:\n"
                           "            engine.state.in_jit = not ok\n"
                           "            engine.state.client_wakeup.notify_all()\n")
