"""The worker never compacts: each unit keeps running from its own library.

Breaks COMPACT-1, COMPACT-2, COMPACT-5 and COMPACT-6."""

from . import mutate

create_engine = mutate(__name__, "_worker.py",
                       old="            compact_all_jit_code(engine)\n",
                       new="            pass\n")
