"""skip_cleaning_object_files does not mark the units' .o files as inherited, so the child's
mjit_finish deletes the parent's object files.

Breaks FORK-2."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old="        if (unit->o_file) unit->o_file_inherited_p = true;\n",
                      new="")
