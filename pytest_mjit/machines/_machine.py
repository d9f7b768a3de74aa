"""The protocol machine: Hypothesis rules for the host's actions and the scheduler's, and the
invariants after every step.  ``machine_class(config)`` binds it to one engine and compiler."""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from .. import sync
from .._deadline import DeadlineExceeded
from .._errors import MjitError
from .._schedules import ScheduleSpec
from ..host import Insn
from ..strategies import define_program, int64s, programs
from ._checks import (Method, ProtocolViolation, StepState, blamed, check_step, clauses_of,
                      expected_result, leftover_problems)
from ._rig import ExampleRig, RigConfig
from ._schedule import Scheduler
from ._trace import Trace
from ._gc_rules import GCRules
from ._lifecycle_rules import LifecycleRules
from ._base import _THEN, _host_free, _running
from ._worker_rules import SchedulerRules

__all__ = ["ProtocolMachine", "machine_class", "CALL_SECONDS", "BLOCKING_SECONDS"]

#: Deadline (scaled) of a client call that must not block (call, recompile, resume...).
CALL_SECONDS = 20.0
#: Deadline (scaled) of a call that may wait for the worker (GC, pause, fork, finish).
BLOCKING_SECONDS = 30.0

_index = st.integers(0, 63)
#: Largest schedule bound drawn: preemptions (random walk) or PCT depth - 1.
MAX_BOUND = 4
#: Most times a lent token is taken back between two points in one example (drawn evenly:
#: an integer draw would favour 0, no stop at all; shrinking still lowers it).
MAX_WINDOW = 3


class ProtocolMachine(SchedulerRules, GCRules, LifecycleRules):
    """One example: a fresh engine driven by drawn steps.  Subclasses made by
    ``machine_class`` set ``config`` and ``controlled``."""

    config: RigConfig
    controlled = True
    #: the machine of the latest example (after a failure: the shrunk one)
    last: "ProtocolMachine | None" = None
    examples = 0
    total_steps = 0
    uncontrolled_total = 0
    compiles = 0
    compiler_seconds = 0.0
    unloads = 0
    full_cache_steps = 0
    #: the first few failures of the search (they survive a replay that does not fail)
    failures_seen: ClassVar[list[str]] = []

    def __init__(self) -> None:
        super().__init__()
        cls = type(self)
        cls.last = self
        cls.examples += 1
        self.trace = Trace()
        self._rig: ExampleRig | None = None
        self._sched: Scheduler | None = None
        self.methods: list[Method] = []
        self.programs = 0
        self.frames: list[contextlib.ExitStack] = []
        self.in_gc = False
        self.paused = False
        self.stops = 0
        self.finished = False
        self.pch_fault = "none"
        self.checks = StepState()
        self.failure: str | None = None
        #: the host's events and the shim's invocations, kept when the example ends
        self.record: tuple[list, list] | None = None

    # -- plumbing ----------------------------------------------------------------------------

    @property
    def rig(self) -> ExampleRig:
        """The rig ``start`` made; every other rule's precondition needs it."""
        if self._rig is None:
            raise MjitError("protocol machine: a step ran before start()")
        return self._rig

    @property
    def sched(self) -> Scheduler:
        """The scheduler ``start`` made."""
        if self._sched is None:
            raise MjitError("protocol machine: a step ran before start()")
        return self._sched

    def _step(self, text: str) -> None:
        type(self).total_steps += 1
        self.sched.check_still()
        self.trace.step(text)

    def _settle(self, then: int = 0) -> None:
        """Settle; then let the worker pass up to ``then`` held points, settling after each."""
        self.sched.settle()
        if then and self.trace.steps:
            self.trace.steps[-1] += f" then pass {then}"
        if self.sched.controlled:
            self.sched.pass_points(then, keep_windows=True)

    def _fail(self, *problems: str) -> None:
        """Fail the example; each problem may name its clause (``blamed``), and the error
        carries those clauses so the report blames them, not every clause checked."""
        steps = len(self.trace.steps)
        message = "; ".join(problems)
        self.failure = message
        seen = type(self).failures_seen
        if len(seen) < 5:
            seen.append(f"after {steps} steps: {message[:400]}")
        error = ProtocolViolation(f"protocol machine failed after {steps} steps: {message}",
                                  clauses_of(problems))
        error.add_note("trace (one lane per thread):\n" + self.render())
        if self._sched is not None and self._sched.core is not None:
            error.add_note(self._sched.core.describe())
        raise error

    def render(self) -> str:
        """The per-thread trace of this example so far (or as it ended)."""
        if self.record is not None:
            return self.trace.render(*self.record)
        if self._rig is None:
            return self.trace.render()
        return self.trace.render(self.rig.host.events, self.rig.shim.invocations())

    def _live(self) -> list[Method]:
        return [m for m in self.methods if m.alive]

    def _pick(self, i: int) -> Method | None:
        """The ``i``-th live method (modulo), or None when GC freed them all."""
        live = self._live()
        if not live:
            self.trace.note("no live method to use")
        return live[i % len(live)] if live else None

    def _client_call(self, fn, what: str, seconds: float, clause: str | None = None) -> Any:
        """A bounded client call.  A deadlock of the engine's threads, or a call that outlasts
        its deadline, fails the example, blamed on ``clause`` when the call's returning is
        what that clause promises."""
        try:
            return self.sched.client_call(fn, what, seconds)
        except sync.Deadlock as exc:
            self._fail(blamed(clause, f"{what}: {exc}\nschedule (last switches):\n  "
                              + "\n  ".join(exc.schedule[-20:])))
        except DeadlineExceeded as exc:
            self._fail(blamed(clause, f"{what} did not return: {exc}"))

    def _bounded(self, fn, what: str, clause: str | None = None) -> Any:
        return self._client_call(fn, what, CALL_SECONDS, clause)

    def _blocking(self, fn, what: str, clause: str | None = None) -> Any:
        return self._client_call(fn, what, BLOCKING_SECONDS, clause)

    # -- start -----------------------------------------------------------------------------

    @initialize(pch_fault=st.sampled_from(["none"] * 6 + ["fail", "crash"]),
                pch_pass=st.sampled_from([True, True, True, False]), spec=programs(max_functions=3),
                pool=st.lists(int64s(), min_size=3, max_size=3),
                schedule_seed=st.integers(0, 2**32 - 1), bound=st.integers(0, MAX_BOUND),
                window=st.sampled_from(range(MAX_WINDOW + 1)))
    def start(self, pch_fault: str, pch_pass: bool, spec, pool, schedule_seed: int = 0,
              bound: int = 0, window: int = 0) -> None:
        """A fresh engine with a first program; the PCH build (the first compiler run) may be
        made to fail, and may be let through at once (``pch_pass``).  The schedule's
        strategy is the preset's; its seed, bound (preemptions or PCT depth) and window (how
        often the worker stops between two operations when it runs on a lent token) are
        drawn, and a failure shrinks them to the fewest context switches that fail."""
        self._rig = ExampleRig(self.config)
        schedule = ScheduleSpec(self.config.preset.schedule, schedule_seed, bound, window)
        self._sched = Scheduler(self.rig, self.trace, controlled=self.controlled, spec=schedule)
        self.trace.step(f"start(pch_fault={pch_fault!r}, pch_pass={pch_pass}, "
                        f"{len(spec.functions)} methods"
                        + (f", schedule {schedule})" if self.controlled else ")"))
        self.pch_fault = pch_fault
        if pch_fault != "none":
            self.sched.inject(pch_fault)
        self._bounded(self.rig.start, "engine.init()")
        self.sched.after_start()
        self._define(spec, pool)
        self._settle()
        if pch_pass and self.sched.release_next(who="start") is not None:
            self._settle()

    def _define(self, spec, pool) -> None:
        number = self.programs
        self.programs += 1
        iseqs = define_program(self.rig.host, spec, prefix=f"p{number}_")
        for iseq in iseqs:
            self._add_method(iseq, tuple(pool[:iseq.argc]), number)

    def _add_method(self, iseq, args: tuple[int, ...], program: int) -> None:
        """Track ``iseq``, checked with ``args`` against the interpreter's result."""
        self.methods.append(Method(iseq, args, expected_result(iseq, args), program))

    # -- host actions --------------------------------------------------------------------------

    @precondition(_host_free)
    @rule(spec=programs(max_functions=3), pool=st.lists(int64s(), min_size=3, max_size=3),
          then=_THEN)
    def define(self, spec, pool, then: int = 0) -> None:
        """Define a program (a few methods calling earlier ones), each checked with ``pool``."""
        self._step(f"define({len(spec.functions)} methods)")
        self._define(spec, pool)
        self._settle(then)

    @precondition(lambda self: _host_free(self) and self.config.preset.fill_cache)
    @rule(n=st.integers(4, 12), k=int64s(), then=_THEN)
    def define_batch(self, n: int, k: int, then: int = 0) -> None:
        """Define ``n`` small methods and call each once (queueing it): enough work to fill
        the cache (at least 10 units), so that unloading and its choices are reached.
        Offered by presets with ``fill_cache`` only (an invalid rule costs no draw)."""
        self._step(f"define_batch({n})")
        number = self.programs
        self.programs += 1
        for j in range(n):
            code = [Insn("arg", 0), Insn("push", k), Insn("mul"), Insn("push", j),
                    Insn("add"), Insn("ret")]
            self._add_method(self.rig.host.define(f"p{number}_b{j}", code, argc=1), (j + 1,),
                             number)
        self._calls(self.methods[-n:])
        self._settle(then)

    def _calls(self, methods: list[Method], times: int = 1) -> None:
        """Call each method ``times`` times through the call path and check the results;
        one bounded, pumped client call for the lot."""
        def run() -> None:
            for m in methods:
                for _ in range(times):
                    got = self.rig.host.call(m.iseq, *m.args)
                    if got != m.expected:
                        self._fail(blamed("COMPILE-1", f"{m.iseq.name}{m.args} returned {got} "
                                          f"through the call path, the interpreter "
                                          f"{m.expected}"))
        self._bounded(run, "host.call")

    @precondition(lambda self: _host_free(self) and self.methods)
    @rule(i=_index, times=st.integers(1, 4), then=_THEN)
    def call(self, i: int, times: int, then: int = 0) -> None:
        """Call a live method through the call path (it may be queued at min_calls)."""
        m = self._pick(i)
        if m is None:
            return
        self._step(f"call({m.iseq.name}{m.args} x{times})")
        self._calls([m], times)
        self._settle(then)

    @precondition(lambda self: _host_free(self) and self.methods)
    @rule(times=st.integers(1, 3), then=_THEN)
    def call_all(self, times: int, then: int = 0) -> None:
        """Call every live method ``times`` times, in definition order."""
        self._step(f"call_all(x{times})")
        self._calls(self._live(), times)
        self._settle(then)

    @precondition(lambda self: _host_free(self) and self.methods)
    @rule(i=_index, then=_THEN)
    def unroot(self, i: int, then: int = 0) -> None:
        """Make a method unreachable for the next GC (unless something else keeps it)."""
        m = self._pick(i)
        if m is None:
            return
        self._step(f"unroot({m.iseq.name})")
        self.rig.host.unroot(m.iseq)
        self._settle(then)

    @precondition(_running)
    @rule(then=_THEN)
    def check_ints(self, then: int = 0) -> None:
        """Run pending postponed jobs (the copy job's handler) on the main thread."""
        self._step("check_ints()")
        self._bounded(self.rig.host.check_ints, "host.check_ints()")
        self._settle(then)

    @precondition(lambda self: _running(self) and self.methods
                  and "recompile" in self.rig.capabilities)
    @rule(i=_index, then=_THEN)
    def recompile(self, i: int, then: int = 0) -> None:
        m = self._pick(i)
        if m is None:
            return
        self._step(f"recompile({m.iseq.name})")
        self._bounded(lambda: self.rig.engine.recompile(m.iseq), "engine.recompile()")
        self._settle(then)

    @precondition(lambda self: _running(self) and self.methods)
    @rule(i=_index, then=_THEN)
    def hold_frame(self, i: int, then: int = 0) -> None:
        """Keep a frame of a method on the stack (a suspended continuation)."""
        m = self._pick(i)
        if m is None:
            return
        self._step(f"hold_frame({m.iseq.name})")
        stack = contextlib.ExitStack()
        stack.enter_context(self.rig.host.frame(m.iseq))
        self.frames.append(stack)
        self._settle(then)

    @precondition(lambda self: _running(self) and self.frames)
    @rule(then=_THEN)
    def drop_frame(self, then: int = 0) -> None:
        self._step("drop_frame()")
        self.frames.pop().close()
        self._settle(then)

    def _check_leftovers(self) -> None:
        problems = leftover_problems(self.rig.leftovers())
        if problems:
            self._fail(*problems)

    # -- invariants and teardown --------------------------------------------------------------

    @invariant()
    def protocol_holds(self) -> None:
        if self._rig is None or self.rig.engine is None:
            return
        held = len({id(s) for s in self.frames})
        problems = check_step(self.rig.host, self.methods, self.checks,
                              max_cache_size=self.rig.options.max_cache_size,
                              held_frames=held, stops=self.stops,
                              code_checks=not self.finished)
        if problems:
            self._fail(*problems)

    def _teardown_frames(self) -> None:
        while self.frames:
            self.frames.pop().close()

    def teardown(self) -> None:
        """Leave nothing behind: gates open, GC closed, engine finished, files removed."""
        if self._rig is None:
            return
        try:
            if self._sched is not None:
                self.sched.open_all()
            if self.in_gc:
                self.rig.host.gc_end()
                self.in_gc = False
            self._teardown_frames()
            if not self.finished and self.failure is None:
                self.rig.finish()
                self.finished = True
                self._check_leftovers()
        finally:
            self.record = (self.rig.host.events, self.rig.shim.invocations())
            type(self).uncontrolled_total += self._sched.uncontrolled if self._sched else 0
            cls = type(self)
            cls.compiles += sum(1 for i in self.record[1] if i.kind == "compile")
            cls.compiler_seconds += sum(i.compiler_seconds for i in self.record[1])
            cls.unloads += self.checks.unloads
            cls.full_cache_steps += self.checks.full_cache_steps
            self.rig.close()


def machine_class(config: RigConfig, *, controlled: bool = True,
                  name: str = "ProtocolMachine") -> type[ProtocolMachine]:
    """A ``ProtocolMachine`` subclass bound to ``config`` (its own counters and ``last``)."""
    return type(name, (ProtocolMachine,), {"config": config, "controlled": controlled,
                                           "last": None, "examples": 0, "total_steps": 0,
                                           "uncontrolled_total": 0, "compiles": 0,
                                           "compiler_seconds": 0.0, "unloads": 0,
                                           "full_cache_steps": 0,
                                           "failures_seen": []})
