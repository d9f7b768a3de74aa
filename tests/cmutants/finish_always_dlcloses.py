"""free_list closes every handle even when close_handle_p is false, unmapping code that may still
run.

Breaks FINISH-3."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old="        if (!close_handle_p) unit->handle = NULL; /* Skip dlclose in free_unit() */\n",
                      new="")
