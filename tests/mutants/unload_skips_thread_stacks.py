"""unload_units keeps the code of ISeqs held as suspended continuations but not of those with
a frame on the running thread's stack, so code a running frame is in may be unloaded.

Breaks UNLOAD-2."""

from . import mutate

create_engine = mutate(__name__, "_unload.py",
                       old="    on_stack = {id(iseq) for iseq in engine.host.iseqs_on_stack()}\n",
                       new="    on_stack = {id(iseq) for iseq in engine.host.frames_on_stack()[1]}\n")
