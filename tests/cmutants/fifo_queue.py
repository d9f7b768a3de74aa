"""get_from_list takes queued units first in, first out, ignoring their total_calls.

Breaks QUEUE-2."""

from . import patch

create_engine = patch(__name__, "mjit_worker.c",
                      old="        if (best == NULL || best->iseq->body->total_calls < unit->iseq->body->total_calls) {\n",
                      new="        if (best == NULL) {\n")
