"""remove_class_serial does nothing: a freed class's serial stays valid.

Breaks SERIAL-1, and GC-6's failing generation (code calling into a removed class compiles)."""

from . import mutate

create_engine = mutate(__name__, "_engine.py",
                       old="            self.state.valid_class_serials.discard(serial)\n",
                       new="            pass\n")
