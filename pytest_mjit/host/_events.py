"""The host's event log: what happened, on which thread, in which order."""

from __future__ import annotations

import dataclasses
import threading
import time

__all__ = ["Event", "EventLog", "EVENT_KINDS"]

#: Every kind of event the host records.
EVENT_KINDS = frozenset({
    "call", "jit_call", "enqueue", "wait",
    "gc_start_hook:enter", "gc_start_hook:exit", "gc_exit_hook:enter", "gc_exit_hook:exit",
    "free_iseq", "generate_code:enter", "generate_code:exit", "copy_caches",
    "postponed:register", "postponed:run", "check_ints", "fork", "violation",
})


@dataclasses.dataclass(frozen=True)
class Event:
    """One entry of the log.  ``thread`` is the thread's name, ``iseq`` an ISeq id or None."""

    seq: int
    kind: str
    thread: str
    time: float
    iseq: int | None = None
    detail: str = ""

    def __str__(self) -> str:
        where = f" iseq={self.iseq}" if self.iseq is not None else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"#{self.seq} [{self.thread}] {self.kind}{where}{detail}"


class EventLog:
    """A thread-safe, append-only list of ``Event``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[Event] = []

    def record(self, kind: str, iseq: int | None = None, detail: str = "") -> Event:
        """Append an event of ``kind`` made by the calling thread and return it."""
        assert kind in EVENT_KINDS, kind
        name = threading.current_thread().name
        with self._lock:
            event = Event(len(self._events), kind, name, time.monotonic(), iseq, detail)
            self._events.append(event)
        return event

    def snapshot(self) -> list[Event]:
        """A copy of every event so far, in order."""
        with self._lock:
            return list(self._events)

    def of_kind(self, *kinds: str) -> list[Event]:
        """The events whose kind is one of ``kinds``, in order."""
        with self._lock:
            return [e for e in self._events if e.kind in kinds]

    def after_fork_in_child(self) -> None:
        """Replace the lock, which another parent thread may have held at fork time."""
        self._lock = threading.Lock()
