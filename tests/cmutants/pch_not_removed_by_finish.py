"""mjit_finish leaves the precompiled header in the tmp dir.

Breaks PCH-5."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old=("    if (!mjit_opts.save_temps && getpid() == pch_owner_pid)\n"
                           "        remove_file(pch_file);\n"),
                      new="")
