"""mjit_finish removes the precompiled header in any process, not only in pch_owner_pid, so a
forked child deletes the header its parent still uses.

Breaks PCH-5 and FORK-3."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old="    if (!mjit_opts.save_temps && getpid() == pch_owner_pid)\n",
                      new="    if (!mjit_opts.save_temps)\n")
