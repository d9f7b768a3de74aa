"""The project's one error type for bad input, and the protocol-violation record."""

from __future__ import annotations


class MjitError(Exception):
    """Raised for invalid input to pytest-mjit: a bad option value, engine spec or path.

    The message is one line that names what is wrong; it is meant to be shown to a user as is.
    """


class EngineStateError(MjitError):
    """Raised by an engine for a client call that the protocol forbids in the current state
    (``pause``/``resume`` on a disabled engine, STOP-3)."""
