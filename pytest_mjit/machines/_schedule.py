"""The controlled schedule: the worker is held at every protocol point until a rule lets it
pass, and whatever the harness sees move without being let go is reported.

Points held: the host gates ``generate_code:enter``, ``generate_code:exit`` and
``postponed:register`` (worker side), and the start of every compiler invocation (a shim
hold armed for the next invocation).  The end of an invocation cannot be held; it is observed
in the shim log.  ``copy_caches`` runs on the main thread and is never gated here.

Between steps the machine ``settle()``s: it waits (bounded) until a point is held or every
engine thread waits on a condition with no compiler running, so the state a step starts from
does not depend on timing."""

from __future__ import annotations

import dis
import os
import sys
import threading
import time
from typing import Any, Callable

from .._deadline import DeadlineExceeded, scale, wait_for
from .._shim._control import MAX_RULES
from .._watchdog import deadline
from ..host import _fork, _gates, _vm
from ._rig import Rig
from ._trace import Trace

__all__ = ["Scheduler", "HOST_POINTS", "SETTLE_SECONDS", "MAX_SHIM_RULES"]

_GATES, _VM, _FORK = _gates.__file__, _vm.__file__, _fork.__file__
#: Seconds (scaled) after which a blocking call the harness cannot see waiting gets its
#: points released anyway.
BLIND_PUMP_SECONDS = 2.0
#: Samples (0.5 ms apart) a thread must spend entering one ``with`` on a lock before the
#: pump takes it to be waiting for that lock.
LOCK_STREAK = 4
HOST_POINTS = ("generate_code:enter", "generate_code:exit", "postponed:register")
#: Seconds (scaled) a settle may take before the harness notes that it could not tell.
SETTLE_SECONDS = 20.0
#: Past this many rules in one example the compiler runs unheld (noted once).
MAX_SHIM_RULES = MAX_RULES - 4


def _still_waiting(frame: Any) -> bool:
    """True if ``frame`` is ``threading.Condition.wait`` and nobody notified it yet.

    A notified waiter leaves the condition's waiter list at once (under the condition's
    lock) but may not have run yet; it counts as moving."""
    code = frame.f_code
    if code.co_filename != threading.__file__ or code.co_name != "wait":
        return False
    local = frame.f_locals
    cond, waiter = local.get("self"), local.get("waiter")
    waiters = getattr(cond, "_waiters", None)
    return waiter is not None and waiters is not None and waiter in list(waiters)


def _acquiring(frame: Any) -> bool:
    """True if the thread whose innermost frame is ``frame`` is entering a ``with`` whose
    ``__enter__`` is C code (a lock's acquire) or is in ``Condition.__enter__``."""
    if frame is None:
        return False
    code = frame.f_code
    if code.co_filename == threading.__file__ and code.co_name == "__enter__":
        return True
    return (0 <= frame.f_lasti < len(code.co_code)
            and dis.opname[code.co_code[frame.f_lasti]] == "BEFORE_WITH")


def _blocked(frame: Any) -> bool:
    """True if the thread whose innermost frame is ``frame`` waits for another thread: on a
    ``threading`` condition (not yet notified), in ``host.sleep`` or for a fork child."""
    if frame is None:
        return False
    if _still_waiting(frame):
        return True
    while frame is not None:
        code = frame.f_code
        if (code.co_name == "sleep" and code.co_filename == _VM) or (
                code.co_name == "_read_until_eof" and code.co_filename == _FORK):
            return True
        frame = frame.f_back if code.co_filename in (_VM, _FORK) else None
    return False


class _Held:
    """One point where a thread waits: ``point`` and how to let it go."""

    def __init__(self, point: str, thread: str, release: Callable[[], None]) -> None:
        self.point, self.thread, self.release = point, thread, release


class Scheduler:
    """Arms the points of ``rig`` and lets the machine release them one at a time.

    ``controlled=False`` is the free-running mode: nothing is armed, nothing is held."""

    def __init__(self, rig: Rig, trace: Trace, controlled: bool = True) -> None:
        self.rig = rig
        self.trace = trace
        self.controlled = controlled
        self.uncontrolled = 0           #: how many things moved outside the schedule
        self.passed = 0                 #: points released by rules
        self._gates: dict[str, Any] = {}
        self._hold: Any = None
        self._pending_fault: tuple[str, dict] | None = None
        self._rules = 0
        self._rules_noted = False
        self._seen_invocations = 0
        self._fingerprint: tuple = ()
        if controlled:
            for point in HOST_POINTS:
                self._gates[point] = rig.host.gate(point)
            self._arm_compiler()

    # -- arming --------------------------------------------------------------------------

    def _arm_compiler(self) -> None:
        """Arm the rules for the next compiler invocation: a pending fault (which then takes
        it) followed by a hold for the one after, or just the hold."""
        self._hold = None
        if not self.controlled:
            return
        if self._rules >= MAX_SHIM_RULES:
            if not self._rules_noted:
                self._rules_noted = True
                self.trace.note("compiler no longer held: the shim's rule table is full")
            return
        shim = self.rig.shim
        fault, self._pending_fault = self._pending_fault, None
        if fault is not None:
            action, kwargs = fault
            self._rules += 1
            if action == "hang":
                self._hold = shim.hang(nth=1)    # held like any start, then exits 1
                return
            getattr(shim, action)(nth=1, **kwargs)
        self._rules += 1
        self._hold = shim.hold(nth=1)

    def _retire(self, hold: Any) -> bool:
        """Take an armed, unreached hold out of play; False if an invocation claimed it first.

        A shim rule with ``nth=1`` matches the invocation that creates its claim file
        ``count.<rule>.1`` (O_EXCL); creating it here first means no invocation ever will."""
        try:
            fd = os.open(self.rig.shim.control_dir / f"count.{hold.rule_id}.1",
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        os.close(fd)
        return True

    def inject(self, action: str, **kwargs: Any) -> None:
        """Make the next compiler invocation ``fail``, ``crash``, ``hang`` (held, then exit
        1) or run ``slow``.  If an invocation already took the armed hold, the fault goes to
        the one after it."""
        if not self.controlled:
            getattr(self.rig.shim, "fail" if action == "hang" else action)(nth=1, **kwargs)
            return
        self._pending_fault = (action, kwargs)
        if self._hold is not None and self._retire(self._hold):
            self._arm_compiler()

    # -- what is held ----------------------------------------------------------------------

    def held(self) -> list[_Held]:
        """The points where a thread waits for a release now."""
        out = []
        for point, gate in self._gates.items():
            if gate.reached and not gate.released:
                out.append(_Held(point, gate.thread or "?",
                                 lambda p=point: self._release_gate(p)))
        hold = self._hold
        if hold is not None and hold.reached:
            kind = next((i.kind for i in self.rig.shim.invocations() if i.pid == hold.pid), "?")
            out.append(_Held(f"cc:{kind}", f"cc {hold.pid}", self._release_compiler))
        return out

    def _release_gate(self, point: str) -> None:
        old = self._gates[point]
        self._gates[point] = self.rig.host.gate(point)   # armed before the old one opens
        old.release()

    def _release_compiler(self) -> None:
        old = self._hold
        self._arm_compiler()
        old.release()

    def release_next(self, who: str = "rule") -> str | None:
        """Let the first held point go; its name, or None when nothing is held."""
        held = self.held()
        if not held:
            return None
        h = held[0]
        self.trace.mark(f"{who} lets {h.thread} pass {h.point}")
        h.release()
        self.passed += 1
        return h.point

    def open_all(self) -> None:
        """Stop scheduling: release everything now and from now on (teardown, finish)."""
        self.controlled = False
        self._pending_fault = None
        self.rig.host.release_all()
        self.rig.shim.release_all()
        self._gates.clear()
        self._hold = None

    # -- blocking client calls ---------------------------------------------------------------

    def pumping(self, fn: Callable[[], Any], what: str, seconds: float) -> Any:
        """Run ``fn()`` (a client call that may wait for the worker) on this thread while a
        helper lets held points go, one at a time and only while this thread is seen blocked
        (waiting on a condition, in ``host.sleep``, for a fork child, or for a lock: the C
        holds its lock across a compaction link), so the interleaving stays the schedule's.
        An engine blocked in a way the harness cannot see gets its points released after
        ``BLIND_PUMP_SECONDS`` (noted as uncontrolled).  Bounded: ``DeadlineExceeded`` after
        ``scale(seconds)``."""
        done = threading.Event()
        caller = threading.get_ident()
        start = time.monotonic()

        def pump() -> None:
            streak = 0
            while not done.is_set():
                frame = sys._current_frames().get(caller)
                streak = streak + 1 if _acquiring(frame) else 0
                blocked = _blocked(frame) or streak >= LOCK_STREAK
                frame = None
                blind = time.monotonic() - start > scale(BLIND_PUMP_SECONDS)
                if (blocked or blind) and self.held():
                    if not blocked:
                        self.note_uncontrolled(f"{what} blocked where the harness cannot see; "
                                               "released a point without knowing it waits")
                    self.release_next(who="pump")
                done.wait(0.0005)

        helper = threading.Thread(target=pump, name="machine-pump", daemon=True)
        if self.controlled:
            helper.start()
        try:
            with deadline(seconds, what, self.describe):
                return fn()
        finally:
            done.set()
            if helper.is_alive():
                helper.join(scale(10.0))

    # -- settling and auditing ---------------------------------------------------------------

    def _quiet(self) -> bool:
        """True when every engine thread waits on a ``threading`` condition or event (and is
        not just leaving a released gate) and no compiler runs."""
        frames = sys._current_frames()
        for ident, name in self.rig.engine_threads().items():
            frame = frames.get(ident)
            if frame is None or name.startswith("machine-"):
                continue
            if not _still_waiting(frame):
                return False
            while frame is not None:
                if frame.f_code.co_name == "pass_point" and frame.f_code.co_filename == _GATES:
                    return False    # released, not yet gone: it is about to move
                frame = frame.f_back
        return not self.rig.shim.running()

    def _within_settle_time(self, predicate: Callable[[], bool], what: str) -> bool:
        """Poll ``predicate`` for up to ``SETTLE_SECONDS`` (scaled); False when it never held
        (the caller notes that: expiry is a finding of the run, not a harness failure)."""
        try:
            wait_for(predicate, SETTLE_SECONDS, what, poll=0.0005)
        except DeadlineExceeded:
            return False
        return True

    def settle(self) -> None:
        """Wait until a point is held or the engine is idle; note it if that never comes."""
        if self.controlled and not self._within_settle_time(
                lambda: bool(self.held()) or self._quiet(), "a held point or an idle engine"):
            self.note_uncontrolled("the engine neither reached a point nor went idle "
                                   f"within {scale(SETTLE_SECONDS):.0f}s")
        self.audit()
        self._fingerprint = self._state()

    def pass_points(self, n: int) -> None:
        """Let the worker pass up to ``n`` held points, settling after each."""
        for _ in range(n):
            if self.release_next() is None:
                break
            self.settle()

    def run_until_idle(self) -> None:
        """Free-running: let the engine work until it is idle, running the host's postponed
        jobs meanwhile (a copy job needs the main thread); noted if it is still busy after
        ``SETTLE_SECONDS``."""
        host = self.rig.host

        def idle() -> bool:
            host.check_ints()
            return host.pending_postponed_jobs == 0 and self._quiet()

        if not self._within_settle_time(idle, "an idle engine"):
            self.trace.note(f"still busy after {scale(SETTLE_SECONDS):.0f}s")
        self.audit()

    def _state(self) -> tuple:
        return (len(self.rig.host.events), len(self.rig.shim.invocations()),
                tuple(h.point for h in self.held()))

    def check_still(self) -> None:
        """Before a step: nothing may have moved since the last settle."""
        if self.controlled and self._fingerprint and self._state() != self._fingerprint:
            self.note_uncontrolled(f"the engine moved between steps ({self._fingerprint} -> "
                                   f"{self._state()})")

    def audit(self) -> None:
        """Note compiler runs that started without being held while the schedule held them."""
        invocations = self.rig.shim.invocations()
        new_inv, self._seen_invocations = (invocations[self._seen_invocations:],
                                           len(invocations))
        if not self.controlled:
            return
        for inv in new_inv:
            if inv.action == "run" and not self._rules_noted:
                self.note_uncontrolled(f"compiler pid {inv.pid} ({inv.kind}) ran without "
                                       "being held")

    def note_uncontrolled(self, what: str) -> None:
        self.uncontrolled += 1
        self.trace.note(f"UNCONTROLLED: {what}")

    def describe(self) -> str:
        held = ", ".join(f"{h.thread} at {h.point}" for h in self.held()) or "nothing"
        return f"scheduler: held {held}; passed {self.passed}\n{self.rig.shim.describe()}"


def run_bounded(fn: Callable[[], Any], what: str, seconds: float) -> Any:
    """``fn()`` under a deadline (for client calls that should not block at all);
    ``DeadlineExceeded`` after ``scale(seconds)``."""
    with deadline(seconds, what):
        return fn()
