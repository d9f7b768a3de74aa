"""unload_units picks the unit with the most calls instead of the fewest.

Breaks UNLOAD-1."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old="            if (worst == NULL || worst->iseq->body->total_calls > unit->iseq->body->total_calls) {\n",
                      new="            if (worst == NULL || worst->iseq->body->total_calls < unit->iseq->body->total_calls) {\n")
