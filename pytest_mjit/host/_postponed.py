"""The postponed-job queue (C: ``rb_workqueue_register`` and its run by the main thread)."""

from __future__ import annotations

import collections
import threading
from typing import Any, Callable

from ._events import EventLog

__all__ = ["PostponedJobs"]


class PostponedJobs:
    """Jobs any thread registers and the main thread runs in order."""

    def __init__(self, log: EventLog, on_error: Callable[[str], None]) -> None:
        self._log = log
        self._on_error = on_error
        self._lock = threading.Lock()
        self._jobs: collections.deque[tuple[Callable[[Any], None], Any]] = collections.deque()

    def register(self, fn: Callable[[Any], None], data: Any, refuse: bool) -> bool:
        """Queue ``fn(data)`` unless ``refuse``; log the registration either way."""
        if refuse:
            self._log.record("postponed:register", detail="refused")
            return False
        with self._lock:
            self._jobs.append((fn, data))
        self._log.record("postponed:register")
        return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)

    def run_pending(self) -> None:
        """Run every queued job, including ones queued meanwhile; a job that raises is
        reported through ``on_error`` (an engine bug must not unwind the host's caller)."""
        while True:
            with self._lock:
                if not self._jobs:
                    return
                fn, data = self._jobs.popleft()
            self._log.record("postponed:run")
            try:
                fn(data)
            except Exception as exc:
                self._on_error(f"postponed job {fn!r} raised {type(exc).__name__}: {exc}")

    def after_fork_in_child(self) -> None:
        """Replace the lock, which another parent thread may have held at fork time."""
        self._lock = threading.Lock()
