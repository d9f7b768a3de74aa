"""The GC rules of the protocol machine: a whole GC, one held open across steps, and GCs
that meet the worker between two critical sections of a new unit (window bugs)."""

from __future__ import annotations

from typing import Any

from hypothesis.stateful import precondition, rule

from ..host import Insn
from ._base import _THEN, MachineBase, _host_free, _running, _started
from ._checks import Method, gc_snapshot

__all__ = ["GCRules", "WINDOW_GCS"]

#: Most window points of one unit at which ``gc_at_windows`` runs a GC.
WINDOW_GCS = 4


def _windowable(self: Any) -> bool:
    """Controlled, and the worker runs (not paused)."""
    return _running(self) and self.sched.controlled and not self.paused


class GCRules(MachineBase):
    """GC rules; mixed into ``ProtocolMachine`` (which provides the rig, the scheduler, the
    methods and the bounded client calls)."""

    @precondition(_host_free)
    @rule(then=_THEN)
    def gc(self, then: int = 0) -> None:
        """A whole GC (gc_start_hook may wait for code generation: gates are pumped)."""
        self._step("gc()")
        self._blocking(self.rig.host.gc, "host.gc()", "GC-2")
        self._settle(then)

    @precondition(_running)
    @rule(then=_THEN)
    def gc_begin(self, then: int = 0) -> None:
        """Start a GC and sweep; it stays open across the following steps until gc_end."""
        self._step("gc_begin()")
        self._gc_open()
        self._settle(then)

    def _gc_open(self) -> None:
        """Start a GC and sweep; it stays open until ``_gc_close``."""
        self._blocking(self.rig.host.gc_begin, "host.gc_begin()", "GC-2")
        self.in_gc = True
        self.checks.at_gc_begin = gc_snapshot(self.methods)
        self._bounded(self.rig.host.gc_sweep, "host.gc_sweep()")

    def _gc_close(self) -> None:
        self._bounded(self.rig.host.gc_end, "host.gc_end()")
        self.in_gc = False
        self.checks.at_gc_begin = None

    @precondition(lambda self: _started(self) and self.in_gc)
    @rule(then=_THEN)
    def gc_end(self, then: int = 0) -> None:
        self._step("gc_end()")
        self._gc_close()
        self._settle(then)


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

    def _new_method(self) -> Method:
        """Define a small program of its own: a method that calls a helper (so its unit has
        a call cache, which a copy job copies), both checked with argument 3; the method."""
        number = self.programs
        self.programs += 1
        host = self.rig.host
        helper = host.define(f"p{number}_h", [Insn("arg", 0), Insn("push", number + 2),
                                              Insn("mul"), Insn("ret")], argc=1)
        method = host.define(f"p{number}_w", [Insn("arg", 0), Insn("call", 0, 1), Insn("push", 1),
                                              Insn("add"), Insn("ret")], argc=1, calls=[helper])
        self._add_method(helper, (3,), number)
        self._add_method(method, (3,), number)
        return self.methods[-1]
