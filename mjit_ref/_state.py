"""The engine's mutable state, declared in one place with what guards each field.

C: the statics of mjit.c and mjit_worker.c; ``lock`` is ``mjit_engine_mutex`` and the four
conditions share it (PROTOCOL.md section 1)."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from pytest_mjit import sync as threading  # the harness can schedule them

from ._copyjob import CopyJob
from ._pch import PchStatus
from ._units import UnitList

__all__ = ["Guard", "State"]


class Guard(enum.Enum):
    """What keeps a field consistent between the worker thread and the client."""

    #: Changed with ``lock`` held, or while no other thread of the engine runs (before the
    #: worker starts, after it ended, in a forked child).  Read with ``lock`` held, except
    #: where the C reads it without and a stale value is harmless (the reader looks again,
    #: or acts as it would have a moment earlier).
    LOCK = "lock"
    #: Used by the host's main thread only (the client API), never by the worker.
    MAIN = "main thread"


def _field(guard: Guard, default: Any = dataclasses.MISSING,
           factory: Any = dataclasses.MISSING) -> Any:
    return dataclasses.field(default=default, default_factory=factory,
                             metadata={"guard": guard})


@dataclasses.dataclass(eq=False)
class State:
    """Everything of the engine that changes after it was made, shared or not."""

    #: Grows by one in wait mode when nothing can be unloaded (UNLOAD-6).
    max_cache_size: int = _field(Guard.LOCK)
    unit_queue: UnitList = _field(Guard.LOCK, factory=lambda: UnitList("unit_queue"))
    active_units: UnitList = _field(Guard.LOCK, factory=lambda: UnitList("active_units"))
    compact_units: UnitList = _field(Guard.LOCK, factory=lambda: UnitList("compact_units"))
    stale_units: UnitList = _field(Guard.LOCK, factory=lambda: UnitList("stale_units"))
    current_unit_num: int = _field(Guard.LOCK, 0)
    in_gc: bool = _field(Guard.LOCK, False)
    in_jit: bool = _field(Guard.LOCK, False)
    stop_worker_p: bool = _field(Guard.LOCK, False)
    worker_stopped: bool = _field(Guard.LOCK, True)
    pch_status: PchStatus = _field(Guard.LOCK, PchStatus.NOT_READY)
    #: The object stays; its fields follow the same rule (the worker fills the buffers while
    #: the job is disabled, when the handler does not touch them).
    copy_job: CopyJob = _field(Guard.LOCK, factory=CopyJob)
    valid_class_serials: set[int] = _field(Guard.LOCK, factory=set)
    enabled: bool = _field(Guard.LOCK, False)
    call_p: bool = _field(Guard.MAIN, False)
    pch_owner_pid: int = _field(Guard.MAIN, 0)
    worker_thread: Any = _field(Guard.MAIN, None)

    def __post_init__(self) -> None:
        self.make_sync_primitives()

    def make_sync_primitives(self) -> None:
        """(Re)create the lock and its four conditions."""
        self.lock = threading.Lock()
        self.pch_wakeup = threading.Condition(self.lock)
        self.client_wakeup = threading.Condition(self.lock)
        self.worker_wakeup = threading.Condition(self.lock)
        self.gc_wakeup = threading.Condition(self.lock)

    def next_unit_id(self) -> int:
        """A fresh unit id from the one counter (QUEUE-4).  Call with the lock held."""
        unit_id = self.current_unit_num
        self.current_unit_num += 1
        return unit_id
