"""Gates: points in the host where a test can hold a thread until it lets it go."""

from __future__ import annotations

import threading
from typing import Any, Callable

from .._deadline import scale, wait_event
from .. import sync
from .._errors import MjitError

__all__ = ["Gate", "GatePoints", "GATE_POINTS", "GATE_SAFETY_SECONDS"]

GATE_POINTS = frozenset({
    "generate_code:enter", "generate_code:exit", "postponed:register", "copy_caches",
})

#: A gate nobody releases lets its thread go after this long (scaled), recording a violation.
GATE_SAFETY_SECONDS = 120.0


class Gate:
    """An armed stop at ``point`` (for one ISeq when ``iseq`` is given).

    The first thread that arrives stops there until ``release()``."""

    def __init__(self, point: str, iseq: Any) -> None:
        self.point = point
        self.iseq = iseq
        self.thread: str | None = None   #: name of the thread that arrived, once one did
        self._reached = threading.Event()
        self._released = threading.Event()

    @property
    def reached(self) -> bool:
        """True once a thread arrived at the gate."""
        return self._reached.is_set()

    @property
    def released(self) -> bool:
        """True once the gate was opened."""
        return self._released.is_set()

    def wait_reached(self, timeout: float = 30.0) -> None:
        """Wait until a thread arrives (``DeadlineExceeded`` after ``scale(timeout)``)."""
        wait_event(self._reached, timeout, f"a thread to reach the gate {self.point!r}")

    def release(self) -> None:
        """Let the held thread go, or let the next arrival pass without stopping."""
        self._released.set()

    def __repr__(self) -> str:
        state = "released" if self.released else ("holding" if self.reached else "armed")
        return f"<Gate {self.point} {state}>"


class GatePoints:
    """The armed gates of one host."""

    def __init__(self, on_expired: Callable[[str], None]) -> None:
        self._lock = threading.Lock()
        self._armed: list[Gate] = []
        self._all: list[Gate] = []
        self._on_expired = on_expired

    def arm(self, point: str, iseq: Any = None) -> Gate:
        """Arm a gate at ``point``; the first matching arrival takes it."""
        if point not in GATE_POINTS:
            raise MjitError(f"unknown gate point {point!r} "
                            f"(known: {', '.join(sorted(GATE_POINTS))})")
        gate = Gate(point, iseq)
        with self._lock:
            self._armed.append(gate)
            self._all.append(gate)
        return gate

    def pass_point(self, point: str, iseq: Any = None) -> None:
        """Called by the thread arriving at ``point``: stop at the first matching armed gate.
        In a controlled run the point is also a scheduling point."""
        sync.checkpoint(point)
        with self._lock:
            gate = next((g for g in self._armed if g.point == point
                         and (g.iseq is None or g.iseq is iseq)), None)
            if gate is None:
                return
            self._armed.remove(gate)
            gate.thread = threading.current_thread().name
            gate._reached.set()
        if not gate._released.wait(scale(GATE_SAFETY_SECONDS)):
            gate._released.set()
            self._on_expired(f"gate {point!r} was never released; thread "
                             f"{gate.thread} let go after {scale(GATE_SAFETY_SECONDS):.0f}s")

    def release_all(self) -> None:
        """Open every gate, armed or holding."""
        with self._lock:
            gates = list(self._all)
            self._armed.clear()
        for gate in gates:
            gate.release()

    def after_fork_in_child(self) -> None:
        """Forget the parent's gates: their threads do not exist in the child."""
        self._lock = threading.Lock()
        self._armed = []
        self._all = []
