"""mjit_wait does not look at pch_status: after a failed header it waits the whole timeout.

Breaks WAIT-3."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old="        if (tries / 1000 > MJIT_WAIT_TIMEOUT_SECONDS || pch_status == PCH_FAILED) {\n",
                      new="        if (tries / 1000 > MJIT_WAIT_TIMEOUT_SECONDS) {\n")
