"""The controlled schedule of the protocol machine.

The machine's thread enters a controlled run (``pytest_mjit.sync``) before the engine
starts, so an engine built on ``pytest_mjit.sync`` has every thread, lock, condition and wait
under the run's scheduler: one thread moves at a time, a strategy drawn by Hypothesis decides
which one at each scheduling point, and between two steps nothing moves.  The host's protocol
points (``generate_code:enter``/``exit``, ``postponed:register``, ``copy_caches``) and
``host.sleep`` are scheduling points too.

The compiler runs outside the primitives: every invocation is held at its start (a shim hold
armed for the next invocation of this process), and the thread waiting for it counts as held
there until the strategy lets it go.  The end of an invocation is not held: the thread that
waits for it keeps the token until it returns.

An engine on raw ``threading`` still runs: its threads are not in the run, the compiler is not
held, and whatever moves between two steps is noted as uncontrolled."""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any, Callable

from .. import sync
from .._deadline import DeadlineExceeded, deadline, scale, wait_for
from .._sched import Scheduler as CoreScheduler
from .._schedules import ScheduleSpec, make_strategy
from .._shim._control import MAX_RULES
from ._rig import ExampleRig
from ._trace import Trace

__all__ = ["Scheduler", "SETTLE_SECONDS", "MAX_SHIM_RULES", "HOST_POINTS", "is_protocol_point"]

#: Seconds (scaled) the free-running mode waits for an idle engine.
SETTLE_SECONDS = 20.0
#: Seconds (scaled) without a new event or compiler run that count as idle (free-running).
IDLE_SECONDS = 0.02
#: Past this many rules in one example the compiler runs unheld (noted once).
MAX_SHIM_RULES = MAX_RULES - 4
#: The protocol points: a "pass" of a rule lets the other threads run until they reach the
#: next of these (a host point, or the start of a compiler run) or all wait.
HOST_POINTS = ("generate_code:enter", "generate_code:exit", "postponed:register",
               "copy_caches")
COMPILER_POINT = "the compiler"


#: PCT places its change points among this many scheduling points of an example where more
#: than one thread could run.
PCT_HORIZON = 60


def is_protocol_point(label: str) -> bool:
    """True for a host protocol point, or a thread held at the compiler's start."""
    return label in HOST_POINTS or COMPILER_POINT in label


class Scheduler:
    """The machine's view of one example's schedule.

    ``controlled=False`` is the free-running mode: no run, nothing armed, nothing held."""

    def __init__(self, rig: ExampleRig, trace: Trace, controlled: bool = True,
                 spec: ScheduleSpec | None = None) -> None:
        self.rig = rig
        self.trace = trace
        self.controlled = controlled
        self.spec = spec or ScheduleSpec("pct", 0, 0)
        self.uncontrolled = 0           #: how many things moved outside the schedule
        self._hold: Any = None
        self._pending_fault: tuple[str, dict] | None = None
        self._rules = 0
        self._rules_noted = False
        self._raw = False               #: the engine runs threads the run does not know
        self._seen_invocations = 0
        self._fingerprint: tuple = ()
        self._stack = contextlib.ExitStack()
        self.core: CoreScheduler | None = None
        if controlled:
            strategy = make_strategy(self.spec, horizon=PCT_HORIZON)
            self.core = CoreScheduler(strategy, externals=self._externals,
                                      protocol=is_protocol_point)
            self._stack.enter_context(sync.controlled_run(self.core, "main"))
            self._arm_compiler()

    @property
    def passed(self) -> int:
        return self.core.switches if self.core is not None else 0

    # -- the compiler ---------------------------------------------------------------------

    def _arm_compiler(self) -> None:
        """Arm the rules for the next compiler invocation: a pending fault (which then takes
        it) followed by a hold for the one after, or just the hold."""
        self._hold = None
        if not self.controlled or self._raw:
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

    def _externals(self) -> list[tuple[str, Callable[[], None]]]:
        """The held compiler, if the armed hold was reached (asked by the run's scheduler)."""
        hold = self._hold
        if hold is None or not hold.reached:
            return []
        return [(f"{COMPILER_POINT} (hold {hold.rule_id})", lambda: self._release_compiler(hold))]

    def _release_compiler(self, hold: Any) -> None:
        if self._hold is hold:
            self._arm_compiler()          # the next invocation is held before this one goes
        self.trace.mark(f"the compiler of hold {hold.rule_id} goes")
        hold.release()

    def inject(self, action: str, **kwargs: Any) -> None:
        """Make the next compiler invocation ``fail``, ``crash``, ``hang`` (held, then exit
        1) or run ``slow``.  The armed hold is not reached while the machine holds the token,
        so the fault takes its place."""
        if not self.controlled or self._raw:
            getattr(self.rig.shim, "fail" if action == "hang" else action)(nth=1, **kwargs)
            return
        self._pending_fault = (action, kwargs)
        hold = self._hold
        if hold is not None and not hold.reached and self._retire(hold):
            self._arm_compiler()

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

    # -- steps -----------------------------------------------------------------------------

    def after_start(self) -> None:
        """After ``engine.init()``: an engine whose threads are not in the run (raw
        ``threading``) runs unheld from here on, its moves noted as uncontrolled."""
        if self.core is None:
            return
        known = self.core.controlled_idents()
        strangers = [n for i, n in self.rig.engine_threads().items() if i not in known]
        if strangers:
            self._raw = True
            self._hold = None
            self.rig.shim.release_all()
            self.note_uncontrolled(f"engine threads outside the controlled run: "
                                   f"{', '.join(sorted(strangers))}")

    def pass_points(self, n: int, keep_windows: bool = False) -> None:
        """Let the other threads run until they passed ``n`` protocol points (less if they
        all wait first); the machine's thread then takes the token back.  ``keep_windows``:
        a thread stopped between two operations stays there (for the next host action)."""
        if self.core is not None and n > 0:
            self.core.defer_first(n, protocol_only=True, keep_windows=keep_windows)
        self.settle()

    def in_window(self) -> bool:
        """True if another thread stands where a loan stopped it between two operations."""
        return self.core is not None and self.core.windowed()

    def can_move(self) -> bool:
        """True if lending the token would move another thread (controlled runs only)."""
        return self.core is not None and self.controlled and self.core.others_can_move()

    def run_steps(self, n: int) -> None:
        """Let the other threads run ``n`` scheduling points of any kind, so that one may stop
        between two critical sections (where it stays: settling does not move it)."""
        if self.core is not None and n > 0:
            self.core.defer_first(n)
        self._record()

    def release_next(self, who: str = "rule") -> str | None:
        """Let the other threads run one pass; a description of it."""
        if self.core is None:
            return None
        self.trace.mark(f"{who} lets the others run one pass")
        self.pass_points(1)
        return "pass"

    def settle(self, windows: int = 0) -> None:
        """Let every other thread run on to its next protocol point (or until it waits), then
        record what the engine did.  Nothing moves while the machine holds the token, unless
        threads outside the run move.  ``windows``: stop them sooner, at their
        ``windows``-th window point between two critical sections (where they stay)."""
        if self.core is not None and self.controlled:
            self.core.settle(windows)
        self._record()

    def _record(self) -> None:
        self.audit()
        self._fingerprint = self._state()

    def open_all(self) -> None:
        """Stop scheduling: end the run and release every hold (teardown, finish)."""
        self.controlled = False
        self._pending_fault = None
        self._stack.close()
        if self.core is not None:
            self.uncontrolled += self.core.uncontrolled
            for note in self.core.notes:
                self.note_uncontrolled(note)
            self.core.uncontrolled = 0
            self.core.notes.clear()
        self.rig.host.release_all()
        self.rig.shim.release_all()
        self._hold = None

    def client_call(self, fn: Callable[[], Any], what: str, seconds: float) -> Any:
        """Run ``fn()``, a client call; when it waits for another thread, the run's
        scheduler lets the others run.  ``DeadlineExceeded`` after ``scale(seconds)``."""
        with deadline(seconds, what, self.describe):
            return fn()

    # -- free-running ---------------------------------------------------------------------

    def run_until_idle(self) -> None:
        """Free-running: let the engine work until nothing happened for ``IDLE_SECONDS``
        with no compiler running, running the host's postponed jobs meanwhile (a copy job
        needs the main thread); noted if it is still busy after ``SETTLE_SECONDS``."""
        host = self.rig.host
        last_state, last_change = self._state(), time.monotonic()

        def idle() -> bool:
            nonlocal last_state, last_change
            if host.pending_postponed_jobs:
                host.check_ints()       # logged as an event: only when there is a job
            now, state = time.monotonic(), self._state()
            if state != last_state or self.rig.shim.running() or host.pending_postponed_jobs:
                last_state, last_change = state, now
                return False
            return now - last_change >= scale(IDLE_SECONDS)

        try:
            wait_for(idle, SETTLE_SECONDS, "an idle engine", poll=0.001)
        except DeadlineExceeded:
            self.trace.note(f"still busy after {scale(SETTLE_SECONDS):.0f}s")
        self.audit()

    # -- auditing -------------------------------------------------------------------------

    def _state(self) -> tuple:
        return (len(self.rig.host.events), len(self.rig.shim.invocations()))

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
        if not self.controlled or self._raw:
            return
        me = os.getpid()
        for inv in new_inv:
            # A forked child's compiler runs are its own: the schedule never holds them.
            if inv.action == "run" and inv.ppid == me and not self._rules_noted:
                self.note_uncontrolled(f"compiler pid {inv.pid} ({inv.kind}) ran without "
                                       "being held")

    def note_uncontrolled(self, what: str) -> None:
        self.uncontrolled += 1
        self.trace.note(f"UNCONTROLLED: {what}")

    def describe(self) -> str:
        run = self.core.describe() if self.core is not None else "free-running"
        return f"{run}\n{self.rig.shim.describe()}"
