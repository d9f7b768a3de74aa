"""The worker publishes a compiled unit's jit_func without waiting for in_gc to end.

Breaks GC-4: a result is published while the host is in GC."""

from . import patch

create_engine = patch(__name__, "mjit_worker.c",
                      old="            while (in_gc) { // Make sure we're not GC-ing when touching ISeq\n",
                      new="            while (false) { // Make sure we're not GC-ing when touching ISeq\n")
