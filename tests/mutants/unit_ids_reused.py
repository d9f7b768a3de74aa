"""Every unit gets the same id, so units share file names and the symbol _mjit0 (dlopen of a
reused .so path hands back the library loaded first).

Breaks QUEUE-4 and COMPILE-1."""

from . import mutate

create_engine = mutate(__name__, "_state.py",
                       old="        self.current_unit_num += 1\n",
                       new="        self.current_unit_num += 0\n")
