"""The scheduler's rules of the protocol machine: let the worker pass held points (or, free
running, run until idle), make the next compiler invocation fail, crash, hang or run slow,
and start a GC while the worker stands between two critical sections."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

if TYPE_CHECKING:
    from ._schedule import Scheduler

__all__ = ["SchedulerRules"]

_FAULTS = st.sampled_from(["fail", "crash", "slow", "hang"])
#: Most window points of one unit at which ``gc_at_windows`` runs a GC.
WINDOW_GCS = 4


def _started(self: Any) -> bool:
    return self._rig is not None and not self.finished


def _running(self: Any) -> bool:
    return _started(self) and not self.in_gc


def _movable(self: Any) -> bool:
    """Controlled, and lending the token would move the worker (a rule that would move
    nothing is not offered: it would spend the example's steps)."""
    return _started(self) and self.sched.controlled and self.sched.can_move()


def _windowable(self: Any) -> bool:
    """Controlled, and the worker runs (not paused)."""
    return _running(self) and self.sched.controlled and not self.paused


def _host_free(self: Any) -> bool:
    """The host can run code: started (finished too: calls are then interpreted), not in GC."""
    return self._rig is not None and not self.in_gc


class SchedulerRules(RuleBasedStateMachine):
    """Rules that move the worker; mixed into ``ProtocolMachine`` (which provides ``sched``,
    ``_step`` and ``_settle``)."""

    if TYPE_CHECKING:
        @property
        def sched(self) -> Scheduler: ...
        @property
        def rig(self) -> Any: ...
        trace: Any
        paused: bool
        def _step(self, text: str) -> None: ...
        def _settle(self, then: int = 0) -> None: ...
        def _new_method(self) -> Any: ...
        def _calls(self, methods: list, times: int = 1) -> None: ...
        def _bounded(self, fn: Any, what: str, clause: str | None = None) -> Any: ...
        def _gc_open(self) -> None: ...
        def _gc_close(self) -> None: ...
        def _blocking(self, fn: Any, what: str, clause: str | None = None) -> Any: ...

    @precondition(_movable)
    @rule(n=st.integers(1, 4))
    def worker_pass(self, n: int) -> None:
        """Let the worker pass up to ``n`` held points (settling after each)."""
        self._step(f"worker_pass({n})")
        self.sched.pass_points(n)

    @precondition(_movable)
    @rule(n=st.integers(1, 12))
    def worker_steps(self, n: int) -> None:
        """Let the worker run ``n`` scheduling points of any kind (lock, wait, notify...), so
        that it may stop between two critical sections; the next settle does not move it."""
        self._step(f"worker_steps({n})")
        self.sched.run_steps(n)

    @precondition(_movable)
    @rule()
    def worker_run(self) -> None:
        """Let the worker pass every point it reaches until it holds nowhere (at most 32)."""
        self._step("worker_run()")
        self.sched.pass_points(32)

    @precondition(lambda self: _running(self) and not self.sched.controlled)
    @rule()
    def worker_idle(self) -> None:
        """Free-running: the host lets time pass until the worker is idle (steps otherwise
        race ahead of every compile, the header's first)."""
        self._step("worker_idle()")
        self.sched.run_until_idle()

    @precondition(_started)
    @rule(kind=_FAULTS, ms=st.integers(1, 50))
    def compiler_fault(self, kind: str, ms: int) -> None:
        """The next compiler invocation fails, crashes, hangs until released, or is slow."""
        self._step(f"compiler_fault({kind!r}{f', ms={ms}' if kind == 'slow' else ''})")
        self.sched.inject(kind, **({"ms": ms} if kind == "slow" else {}))
        self._settle()

    @precondition(_windowable)
    @rule()
    def gc_at_windows(self) -> None:
        """GCs meet the worker between two critical sections of a new unit (see
        ``_gc_at_windows``); the method stays reachable."""
        self._gc_at_windows(free=False)

    @precondition(_windowable)
    @rule()
    def gc_at_windows_freeing(self) -> None:
        """As ``gc_at_windows``, and the first GC frees the method of the unit."""
        self._gc_at_windows(free=True)

    def _gc_at_windows(self, free: bool) -> None:
        """Let the worker finish what it does (as ``worker_run``, running a copy job it
        waits for), define and call a new method (queueing it), then, each time the worker
        reaches a window point (about to take again the lock it released at its last point),
        run a GC there: it begins, the worker runs on while it lasts (up to two protocol
        points), it ends; past the windows, one more GC where the worker stops.  Window bugs
        live there (GC-1, GC-3, GC-5): a check made before the GC wait and trusted after it,
        a flag read outside the lock, ``in_jit`` raised in a second critical section, a
        release of ``in_jit`` that wakes the wrong waiter (GC-2).  No draws: every call
        meets every window of the unit."""
        self._step(f"gc_at_windows({'freeing' if free else ''})")
        for _ in range(3):      # a copy job waits for the main thread's check_ints
            self.sched.pass_points(32)
            if not self.rig.host.pending_postponed_jobs:
                break
            self._bounded(self.rig.host.check_ints, "host.check_ints()")
        m = self._new_method()
        self._calls([m])
        for n in range(WINDOW_GCS):
            self.sched.settle(windows=1)
            if not self.sched.in_window():
                break
            self.trace.note(f"GC at window {n + 1}")
            if free and n == 0:
                self.rig.host.unroot(m.iseq)
            self._gc_open()
            self.sched.pass_points(2)
            self._gc_close()
        # Past its windows the worker stands at a protocol point (generating code, holding
        # in_jit, or at its compiler): one more GC meets it there (GC-2, GC-6).
        self._blocking(self.rig.host.gc, "host.gc()", "GC-2")
        self._settle()
