"""mjit_remove_class_serial does nothing: a freed class's serial stays valid.

Breaks SERIAL-1."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old="    rb_hash_delete_entry(valid_class_serials, LONG2FIX(class_serial));\n",
                      new="")
