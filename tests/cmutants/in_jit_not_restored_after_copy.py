"""After the copy job the worker goes on generating code without setting in_jit again, so GC may
run during the rest of mjit_compile.

Breaks GC-2 (a GC starts while code generation runs)."""

from . import patch

create_engine = patch(__name__, "mjit_worker.c",
                      old="    in_jit = true; // Prohibit GC during JIT compilation\n",
                      new="")

SUITE_GAP = ("GC-2's test generates a method without call caches, so no copy job runs during "
             "its generation; no test starts a GC after a copy job ended while mjit_compile "
             "still runs (COPYJOB-2's test starts its GC during the copy wait, where GC is "
             "allowed). Not caught over GC, COPYJOB, STOP or FAULT.")
