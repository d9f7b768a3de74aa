"""GC as the host runs it: the engine's hooks around a mark-and-sweep over ISeqs."""

from __future__ import annotations

from typing import Any, Callable

from .._errors import MjitError
from ._activity import Activity
from ._bytecode import ISeq
from ._events import EventLog
from ._heap import Heap, Stacks

__all__ = ["Collector"]


class Collector:
    """Runs GC over ``heap`` with ``stacks`` and the engine's marks as extra roots; records
    into ``log`` and reports protocol violations through ``violation``."""

    def __init__(self, heap: Heap, stacks: Stacks, activity: Activity, log: EventLog,
                 violation: Callable[..., None]) -> None:
        self._heap = heap
        self._stacks = stacks
        self._activity = activity
        self._log = log
        self._violation = violation

    def begin(self, engine: Any) -> None:
        """``engine.gc_start_hook()``, then the host is in GC."""
        if self._activity.in_gc:
            raise MjitError("gc_begin: the host is already in GC")
        if engine is not None:
            self._log.record("gc_start_hook:enter")
            engine.gc_start_hook()
            self._log.record("gc_start_hook:exit")
        if self._activity.enter_gc():
            self._violation("GC started while generate_code runs outside a copy job "
                            "(gc_start_hook did not wait for in_jit)")

    def sweep(self, engine: Any) -> list[ISeq]:
        """Free every ISeq not reachable from the roots, the stacks and ``engine.mark()``."""
        if not self._activity.in_gc:
            raise MjitError("gc_sweep: call gc_begin first")
        running, held = self._stacks.frames()
        roots = self._heap.roots() + running + held
        if engine is not None:
            for iseq in engine.mark() or ():
                if isinstance(iseq, ISeq) and iseq.freed:
                    self._violation(f"engine.mark() returned freed ISeq {iseq.name!r}", iseq)
                elif isinstance(iseq, ISeq) and self._heap.holds(iseq):
                    roots.append(iseq)
        alive: set[int] = set()
        while roots:
            iseq = roots.pop()
            if iseq.id not in alive:
                alive.add(iseq.id)
                roots.extend(cc.callee for cc in iseq._call_caches)
        freed = [iseq for iseq in self._heap.live() if iseq.id not in alive]
        for iseq in freed:
            if engine is not None:
                engine.free_iseq(iseq)
            self._log.record("free_iseq", iseq.id)
            iseq.freed = True
            self._heap.forget(iseq)
        return freed

    def end(self, engine: Any) -> None:
        """The host leaves GC, then ``engine.gc_exit_hook()``."""
        if not self._activity.in_gc:
            raise MjitError("gc_end: the host is not in GC")
        self._activity.leave_gc()
        if engine is not None:
            self._log.record("gc_exit_hook:enter")
            engine.gc_exit_hook()
            self._log.record("gc_exit_hook:exit")
