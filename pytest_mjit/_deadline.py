"""Bounded waits.  Every wait in the harness goes through here, so that on expiry the failure
carries every thread's stack instead of hanging the run."""

from __future__ import annotations

import sys
import threading
import time
import traceback
from typing import Callable

__all__ = ["DeadlineExceeded", "scale", "set_scale", "all_stacks", "wait_for", "wait_event"]

_scale = 1.0


class DeadlineExceeded(AssertionError):
    """A bounded wait of the harness expired; the message holds every thread's stack."""


def set_scale(factor: float) -> None:
    """Multiply every harness deadline by ``factor`` (set by the preset)."""
    global _scale
    if factor <= 0:
        raise ValueError("deadline scale must be positive")
    _scale = float(factor)


def scale(seconds: float) -> float:
    """``seconds`` scaled by the current preset factor."""
    return seconds * _scale


def all_stacks() -> str:
    """A readable dump of every Python thread's current stack."""
    names = {t.ident: t.name for t in threading.enumerate()}
    parts = []
    for ident, frame in sys._current_frames().items():
        parts.append(f"--- thread {names.get(ident, '?')} ({ident})\n")
        parts.append("".join(traceback.format_stack(frame)))
    return "".join(parts)


def _expired(what: str, timeout: float, extra: Callable[[], str] | None) -> DeadlineExceeded:
    msg = f"deadline of {timeout:.1f}s expired waiting for {what}"
    if extra is not None:
        try:
            msg += "\n" + extra()
        except Exception as exc:  # the dump must never hide the expiry itself
            msg += f"\n(state dump failed: {exc!r})"
    return DeadlineExceeded(msg + "\nthread stacks:\n" + all_stacks())


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, *,
             poll: float = 0.001, extra: Callable[[], str] | None = None) -> None:
    """Poll ``predicate`` until true; raise ``DeadlineExceeded`` after ``scale(timeout)``."""
    limit = scale(timeout)
    end = time.monotonic() + limit
    while not predicate():
        if time.monotonic() >= end:
            raise _expired(what, limit, extra)
        time.sleep(poll)


def wait_event(event: threading.Event, timeout: float, what: str, *,
               extra: Callable[[], str] | None = None) -> None:
    """Wait for ``event``; raise ``DeadlineExceeded`` after ``scale(timeout)``."""
    limit = scale(timeout)
    if not event.wait(limit):
        raise _expired(what, limit, extra)
