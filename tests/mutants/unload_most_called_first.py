"""unload_units picks the unit with the most calls instead of the fewest.

Breaks UNLOAD-1."""

from . import mutate

create_engine = mutate(
    __name__, "_unload.py",
    old="            if worst is None or worst.iseq.body.total_calls > unit.iseq.body.total_calls:\n",
    new="            if worst is None or worst.iseq.body.total_calls < unit.iseq.body.total_calls:\n")
