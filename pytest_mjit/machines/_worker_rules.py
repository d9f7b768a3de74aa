"""The scheduler's rules of the protocol machine: let the worker pass held points (or, free
running, run until idle), and make the next compiler invocation fail, crash, hang or run
slow."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from ._base import MachineBase, _movable, _running, _started

__all__ = ["SchedulerRules"]

_FAULTS = st.sampled_from(["fail", "crash", "slow", "hang"])


class SchedulerRules(MachineBase):
    """Rules that move the worker; mixed into ``ProtocolMachine`` (which provides ``sched``,
    ``_step`` and ``_settle``)."""

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
