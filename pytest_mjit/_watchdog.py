"""A per-phase deadline for tests that use the harness: on expiry the main thread gets a
``DeadlineExceeded`` carrying every thread's stack, wherever it is blocked in Python."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Callable, Iterator

from ._deadline import DeadlineExceeded, all_stacks, scale

__all__ = ["deadline"]


@contextlib.contextmanager
def deadline(seconds: float, what: str, extra: Callable[[], str] | None = None) -> Iterator[None]:
    """Raise ``DeadlineExceeded`` in the main thread if the block outlasts ``scale(seconds)``.

    Does nothing off the main thread or when the real-time timer is already in use."""
    limit = scale(seconds)
    usable = (threading.current_thread() is threading.main_thread()
              and signal.getitimer(signal.ITIMER_REAL)[0] == 0)
    if not usable:
        yield
        return

    def expire(signum, frame):
        msg = f"deadline of {limit:.1f}s expired: {what}"
        if extra is not None:
            try:
                msg += "\n" + extra()
            except Exception as exc:
                msg += f"\n(state dump failed: {exc!r})"
        raise DeadlineExceeded(msg + "\nthread stacks:\n" + all_stacks())

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
