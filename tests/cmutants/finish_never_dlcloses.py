"""free_list drops every unit's handle without dlclose even when close_handle_p is true: all
compiled code stays mapped after mjit_finish.

Breaks FINISH-3."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old="        if (!close_handle_p) unit->handle = NULL; /* Skip dlclose in free_unit() */\n",
                      new="        unit->handle = NULL; /* Skip dlclose in free_unit() */\n")
