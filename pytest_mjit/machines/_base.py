"""What the protocol machine's rule mixins share: the preconditions, the ``then`` draw, and
``MachineBase``, which declares (for type checkers) what ``ProtocolMachine`` provides them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine

if TYPE_CHECKING:
    from ._checks import Method, StepState
    from ._schedule import Scheduler

__all__ = ["MachineBase"]

#: How many passes the worker may make after a host action (a draw of every such rule).
_THEN = st.integers(0, 3)


def _started(self: Any) -> bool:
    return self._rig is not None and not self.finished


def _running(self: Any) -> bool:
    return _started(self) and not self.in_gc


def _movable(self: Any) -> bool:
    """Controlled, and lending the token would move the worker (a rule that would move
    nothing is not offered: it would spend the example's steps)."""
    return _started(self) and self.sched.controlled and self.sched.can_move()


def _host_free(self: Any) -> bool:
    """The host can run code: started (finished too: calls are then interpreted), not in GC."""
    return self._rig is not None and not self.in_gc


class MachineBase(RuleBasedStateMachine):
    """The base of the rule mixins; ``ProtocolMachine`` provides what it declares."""

    if TYPE_CHECKING:
        @property
        def sched(self) -> Scheduler: ...
        @property
        def rig(self) -> Any: ...
        trace: Any
        paused: bool
        in_gc: bool
        finished: bool
        stops: int
        programs: int
        methods: list[Method]
        checks: StepState
        def _step(self, text: str) -> None: ...
        def _settle(self, then: int = 0) -> None: ...
        def _fail(self, *problems: str) -> None: ...
        def _live(self) -> list[Method]: ...
        def _add_method(self, iseq: Any, args: tuple[int, ...], program: int) -> None: ...
        def _calls(self, methods: list, times: int = 1) -> None: ...
        def _teardown_frames(self) -> None: ...
        def _check_leftovers(self) -> None: ...
        def _bounded(self, fn: Any, what: str, clause: str | None = None) -> Any: ...
        def _blocking(self, fn: Any, what: str, clause: str | None = None) -> Any: ...
