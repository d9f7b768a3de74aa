"""wait does not look at the header's status: after a failed header it waits the whole
wait_timeout.

Breaks WAIT-3."""

from . import mutate

create_engine = mutate(__name__, "_engine.py",
                       old="            if time.monotonic() > deadline or self.state.pch_status is PchStatus.FAILED:\n",
                       new="            if time.monotonic() > deadline:\n")
