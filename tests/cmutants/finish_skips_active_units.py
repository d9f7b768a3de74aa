"""mjit_finish never frees active_units: their .o files stay in the tmp dir and their libraries
stay mapped.

Breaks FINISH-2 (and FINISH-3)."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old="    free_list(&active_units, close_handle_p);\n",
                      new="")
