"""A unit's .o is deleted as soon as its own library is linked, so no compaction can link it.

Breaks COMPACT-5 (compaction keeps every active unit's .o)."""

from . import patch

create_engine = patch(__name__, "mjit_worker.c",
                      old="        unit->o_file = strdup(o_file);\n",
                      new=("        unit->o_file = strdup(o_file);\n"
                           "        remove_file(o_file);\n"))
