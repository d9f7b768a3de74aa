"""The engine's life-cycle rules of the protocol machine: pause, resume, fork and finish."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from .._errors import EngineStateError
from ._base import _THEN, MachineBase, _running
from ._checks import blamed, child_check

__all__ = ["LifecycleRules", "FINISH_AFTER_STEPS"]

#: The finish rule is offered only after this many steps.
FINISH_AFTER_STEPS = 10


class LifecycleRules(MachineBase):
    """Life-cycle rules; mixed into ``ProtocolMachine`` (which provides the rig, the
    scheduler, the methods, the checks after finish and the bounded client calls)."""

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
