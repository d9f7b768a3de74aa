"""The protocol machine: Hypothesis rules for the host's actions and the scheduler's, and the
invariants after every step.  ``machine_class(config)`` binds it to one engine and compiler."""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from .. import sync
from .._deadline import DeadlineExceeded
from .._errors import EngineStateError, MjitError
from .._schedules import ScheduleSpec
from ..host import Insn
from ..strategies import define_program, int64s, programs
from ._checks import (Method, ProtocolViolation, StepState, blamed, check_step, child_check,
                      clauses_of, expected_result, gc_snapshot, leftover_problems)
from ._rig import ExampleRig, RigConfig
from ._schedule import Scheduler
from ._trace import Trace
from ._worker_rules import SchedulerRules, _host_free, _running, _started

__all__ = ["ProtocolMachine", "machine_class", "CALL_SECONDS", "BLOCKING_SECONDS"]

#: Deadline (scaled) of a client call that must not block (call, recompile, resume...).
CALL_SECONDS = 20.0
#: Deadline (scaled) of a call that may wait for the worker (GC, pause, fork, finish).
BLOCKING_SECONDS = 30.0

_index = st.integers(0, 63)
#: The finish rule is offered only after this many steps.
FINISH_AFTER_STEPS = 10
#: How many passes the worker may make after a host action (a draw of every such rule).
_THEN = st.integers(0, 3)
#: Largest schedule bound drawn: preemptions (random walk) or PCT depth - 1.
MAX_BOUND = 4
#: Most times a lent token is taken back between two points in one example (drawn evenly:
#: an integer draw would favour 0, no stop at all; shrinking still lowers it).
MAX_WINDOW = 3


class ProtocolMachine(SchedulerRules):
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

    # -- engine life cycle ----------------------------------------------------------------------

    def _pch_built(self) -> bool:
        """The shim saw a PCH build succeed (only then does the worker's state follow the
        model: a failed PCH stops the worker by itself)."""
        return ("pch" not in self.rig.capabilities
                or any(i.kind == "pch" and i.ok for i in self.rig.shim.invocations()))

    def _client(self, fn, what: str, blocking: bool, clause: str | None = None) -> Any:
        """A client call that raises EngineStateError only when the engine is disabled."""
        try:
            return (self._blocking(fn, what, clause) if blocking
                    else self._bounded(fn, what, clause))
        except EngineStateError:
            if self.rig.engine.enabled:
                raise
            return None

    @precondition(_running)
    @rule(wait=st.booleans(), then=_THEN)
    def pause(self, wait: bool, then: int = 0) -> None:
        self._step(f"pause(wait={wait})")
        self.stops += 1
        # STOP-2: pause(wait=True) returns once the worker stopped, drained or not.
        got = self._client(lambda: self.rig.engine.pause(wait=wait), f"engine.pause(wait={wait})",
                           True, "STOP-2" if wait else "STOP-1")
        if self._pch_built() and got is not None and got != (not self.paused):
            self._fail(blamed("STOP-3", f"pause() returned {got} with the worker "
                                        f"{'stopped' if self.paused else 'running'}"))
        self.paused = True
        self._settle(then)

    @precondition(_running)
    @rule(then=_THEN)
    def resume(self, then: int = 0) -> None:
        self._step("resume()")
        got = self._client(self.rig.engine.resume, "engine.resume()", False)
        if self._pch_built() and got is not None and got != self.paused:
            self._fail(blamed("STOP-3", f"resume() returned {got} with the worker "
                                        f"{'stopped' if self.paused else 'running'}"))
        self.paused = False
        self._settle(then)

    @precondition(lambda self: _running(self) and "fork" in self.rig.capabilities)
    @rule(then=_THEN)
    def fork(self, then: int = 0) -> None:
        """Fork as MRI does; the child calls every compiled method and reports mismatches."""
        self._step("fork()")
        self.stops += 1   # the host pauses the worker around the fork
        methods = list(self._live())
        child = child_check(methods, len(self.rig.host.violations))
        result = self._client(lambda: self.rig.host.fork(child, 30.0), "host.fork()", True)
        if result is None:
            self.trace.note("fork skipped: the engine is disabled")
            self._settle()
            return
        self.paused = False   # the host resumes the parent's worker after the fork
        if result.error or result.exit_status != 0:
            self._fail(f"forked child failed (exit {result.exit_status}): {result.error}")
        elif result.result:
            self._fail("in the forked child: " + "; ".join(result.result))
        self._settle(then)

    @precondition(lambda self: _running(self) and len(self.trace.steps) > FINISH_AFTER_STEPS)
    @rule()
    def finish(self) -> None:
        """Finish the engine; nothing of it may be left (threads, processes, files, maps).
        Offered only after a few steps (teardown finishes and checks the same way), so that
        most examples explore before the engine goes away."""
        self._step("finish()")
        self._teardown_frames()
        self.sched.open_all()
        self.rig.finish()
        self.finished = True
        self._check_leftovers()

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
            cls.unloads += self.checks.unloads
            cls.full_cache_steps += self.checks.full_cache_steps
            self.rig.close()


def machine_class(config: RigConfig, *, controlled: bool = True,
                  name: str = "ProtocolMachine") -> type[ProtocolMachine]:
    """A ``ProtocolMachine`` subclass bound to ``config`` (its own counters and ``last``)."""
    return type(name, (ProtocolMachine,), {"config": config, "controlled": controlled,
                                           "last": None, "examples": 0, "total_steps": 0,
                                           "uncontrolled_total": 0, "compiles": 0,
                                           "unloads": 0, "full_cache_steps": 0,
                                           "failures_seen": []})
