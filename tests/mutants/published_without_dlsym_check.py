"""The result of dlsym is not checked: when the library lacks _mjit<id>, the library handle
is published as the method's code.

Breaks LOAD-1."""

from . import mutate

create_engine = mutate(__name__, "_convert.py",
                       old="    address = load_func_from_so(engine, so_file, funcname, unit)\n",
                       new="    address = load_func_from_so(engine, so_file, funcname, unit) or unit.handle\n")
