"""mjit_finish leaves mjit_call_p true, so the host keeps calling code of a finished engine.

Breaks FINISH-5."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old=("    mjit_call_p = false;\n"
                           "    free_list(&unit_queue, close_handle_p);\n"),
                      new="    free_list(&unit_queue, close_handle_p);\n")
