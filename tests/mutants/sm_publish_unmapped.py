"""Loading a unit closes the library right after resolving the function, so the published
jit_func points into code that is no longer mapped.

Breaks LOAD-1 and COMPILE-1."""

from . import mutate

create_engine = mutate(__name__, "_convert.py",
                       old="    unit.handle = handle\n    return _dl.dlsym(handle, funcname)\n",
                       new=("    address = _dl.dlsym(handle, funcname)\n"
                            "    _dl.dlclose(handle)\n"
                            "    return address\n"))
