"""Loans of a controlled run: the first thread (the one that entered the run, the host's
main thread) lends the token so that the other threads run, for a number of scheduling
points (``defer_first``) or until each stops at a protocol point or waits (``settle``), and
takes it back; a loan may also end where a thread stands between two critical sections (a
window point)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable

from ._schedules import ThreadRecord

__all__ = ["Loans"]


class Loans:
    """The loan half of ``Scheduler`` (which owns the state declared here)."""

    _cv: threading.Condition
    _threads: list[ThreadRecord]
    _current: ThreadRecord | None
    _protocol: Callable[[str], bool]
    active: bool
    _deferred: int                      #: points the first thread leaves to the others
    _counts: Callable[[str], bool]      #: which points count against ``_deferred``
    _settling: bool
    _keep_windows: bool
    _windows: int                       #: window points left before a loan ends (0: none)

    if TYPE_CHECKING:
        def _pass_on(self, holder: ThreadRecord | None, why: str,
                     subject: ThreadRecord | None = None) -> None: ...
        def _await(self, t: ThreadRecord) -> None: ...

    def defer_first(self, n: int, protocol_only: bool = False,
                    keep_windows: bool = False) -> None:
        """The first thread (the token holder) lets the others run until they passed ``n``
        scheduling points (only protocol points with ``protocol_only``), or all block; then
        it takes the token back.  ``keep_windows``: a thread the strategy stopped between
        two operations stays there (so the first thread's next actions meet it there)."""
        self._keep_windows = keep_windows
        self._lend(n, self._protocol if protocol_only else (lambda label: True), False)

    def settle(self, windows: int = 0) -> None:
        """The first thread lets every other thread run on until it stops at a protocol
        point, is held outside or waits (a thread already stopped at one stays there).
        ``windows``: the loan ends sooner, where the others together reach their
        ``windows``-th window point (a thread about to take again the lock it just released,
        between two critical sections); the thread there stays, as after ``keep_windows``."""
        self._lend(1, lambda label: False, True, windows)

    def _lend(self, n: int, counts: Callable[[str], bool], settling: bool,
              windows: int = 0) -> None:
        first = self._threads[0]
        with self._cv:
            if not self.active or self._current is not first or n <= 0:
                return
            if settling and not any(self._settles(o) for o in self._threads[1:]):
                return
            self._counts, self._settling, self._windows = counts, settling, windows
            self._deferred = n
            first.state, first.wake = "ready", "deferred"
            self._current = None
            self._pass_on(None, f"{first.name} lets the others run {n} points")
            self._await(first)
            self._deferred, first.wake, self._settling, self._windows = 0, None, False, 0
            self._keep_windows = False

    def _count_deferred(self, t: ThreadRecord, label: str) -> None:
        if self._deferred and t is not self._threads[0] and self._counts(label):
            self._deferred -= 1

    def _deferral_over(self, t: ThreadRecord | None) -> bool:
        """True when the first thread lent the token and the others used up the loan (or,
        settling, each of them stopped at a protocol point or waits)."""
        first = self._threads[0]
        if first.wake != "deferred" or first.state != "ready" or t is first:
            return False
        if self._settling:
            return not any(self._settles(o) for o in self._threads[1:])
        return self._deferred == 0

    def _lending(self) -> bool:
        """True while the first thread lent the token (``defer_first`` or ``settle``)."""
        first = self._threads[0]
        return first.wake == "deferred" and first.state == "ready"

    @staticmethod
    def _settles(t: ThreadRecord) -> bool:
        """True if ``t`` still has to move before a settle ends."""
        return t.state in ("run", "ready") and not t.parked
