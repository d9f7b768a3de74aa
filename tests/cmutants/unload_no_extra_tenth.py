"""unload_units unloads only down to max_cache_size instead of one tenth of the units more
(delete_num is 0).

Breaks UNLOAD-1."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old="    delete_num = active_units.length / 10;\n",
                      new="    delete_num = 0;\n")
