"""The engine's shared state: units, the copy job, and one monitor that guards them all."""

from __future__ import annotations

import dataclasses
import enum
import os
import time
from pathlib import Path
from typing import Any, Callable

from pytest_mjit import sync as threading  # the harness can schedule them

from ._dl import Library
from ._files import remove_owned
from ._heap import UnitHeap

__all__ = ["Unit", "CopyJob", "PchState", "State", "EngineStuck", "STUCK_LIMIT"]

#: Seconds any engine wait for another thread may last before it is reported as stuck.
STUCK_LIMIT = 900.0


class EngineStuck(RuntimeError):
    """A wait for another thread outlived ``STUCK_LIMIT``."""


class PchState(enum.Enum):
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"


@dataclasses.dataclass(eq=False)
class Unit:
    """One compilation of one ISeq (or a compacted library when ``iseq`` never was set)."""

    id: int
    iseq: Any                      #: None once GC freed the ISeq
    compile_info: Any = None
    library: Library | None = None
    obj: Path | None = None        #: the .o kept for compaction
    owner_pid: int = 0             #: the process that made this unit's files
    used: bool = False             #: an ISeq of it is on a stack (unload_units)

    def release(self, close_library: bool, keep_files: bool) -> None:
        """dlclose (if asked) and delete the .o (unless kept or made by another process)."""
        if close_library and self.library is not None:
            self.library.close()
        self.library = None
        if not keep_files:
            remove_owned(self.obj, self.owner_pid)
        self.obj = None


@dataclasses.dataclass(eq=False)
class CopyJob:
    """One request of the worker for a method's caches, filled on the main thread."""

    iseq: Any
    cc_entries: list
    is_entries: list
    enabled: bool = False          #: the handler may copy (the worker still waits)
    done: bool = False             #: the handler ran


class State:
    """Everything the worker and the client share, guarded by ``monitor``.

    A single condition variable serves every wait in the engine: whoever changes the state
    notifies all waiters, and each waiter re-checks its own predicate."""

    def __init__(self) -> None:
        self.monitor = threading.Condition(threading.Lock())
        self.queue = UnitHeap()
        self.active: dict[int, Unit] = {}      # id -> unit, in order of compilation
        self.compacted: list[Unit] = []
        self.stale: list[Unit] = []
        self.next_id = 1
        self.in_gc = False
        self.in_jit = False
        self.stopping = False
        self.worker_running = False
        self.pch = PchState.BUILDING
        self.job: CopyJob | None = None
        self.converting: Unit | None = None

    def after_fork(self) -> None:
        """A fresh monitor for a forked child (no other thread of the parent exists here)."""
        self.monitor = threading.Condition(threading.Lock())

    def take_id(self) -> int:
        """The next unit id (QUEUE-4).  Monitor held."""
        uid, self.next_id = self.next_id, self.next_id + 1
        return uid

    def changed(self) -> None:
        """Wake every waiter.  Monitor held."""
        self.monitor.notify_all()

    def wait_until(self, predicate: Callable[[], bool], what: str,
                   limit: float = STUCK_LIMIT) -> None:
        """Wait (monitor held) until ``predicate()``; raise EngineStuck after ``limit`` s."""
        end = time.monotonic() + limit
        while not predicate():
            left = end - time.monotonic()
            if left <= 0:
                raise EngineStuck(f"heapjit: still waiting for {what} after {limit:.0f}s")
            self.monitor.wait(min(left, 1.0))

    def all_units(self) -> list[Unit]:
        """Every unit the engine holds, queued ones included.  Monitor held."""
        return [*self.queue, *self.active.values(), *self.compacted, *self.stale]

    def stats(self) -> dict[str, Any]:
        return dict(queue=len(self.queue), active=len(self.active),
                    compacted=len(self.compacted), stale=len(self.stale),
                    pch=self.pch.value, in_gc=self.in_gc, in_jit=self.in_jit,
                    stopping=self.stopping, worker_running=self.worker_running,
                    converting=None if self.converting is None else self.converting.id,
                    pid=os.getpid())
