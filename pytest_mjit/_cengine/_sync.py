"""The mutexes and condition variables a C engine uses (``rb_native_mutex_*``,
``rb_native_cond_*``), with pthread semantics: a condition is not bound to one mutex and a
signal needs no lock held.

Both are built on ``pytest_mjit.sync``'s lock and condition, so a C engine's threads are
scheduled like a Python engine's: in a controlled run every lock and wait of the C is a
scheduling point.  Every blocking step waits in slices
and gives up with ABORT once the harness abandoned the engine, so a deadlocked C engine never
holds a thread for ever."""

from __future__ import annotations

import collections
from typing import Callable

from .. import sync

from ._abi import ABORT, OK

__all__ = ["Mutex", "Cond", "SLICE"]

#: Seconds a blocking step waits before it looks whether the engine was abandoned.
SLICE = 0.1


class Mutex:
    """A non-recursive mutex."""

    def __init__(self, abandoned: Callable[[], bool]) -> None:
        self._lock = sync.Lock()
        self._abandoned = abandoned

    def lock(self) -> int:
        while not self._lock.acquire(timeout=SLICE):
            if self._abandoned():
                return ABORT
        return OK

    def unlock(self) -> int:
        if not self._lock.locked():
            raise RuntimeError("the C engine unlocked a mutex nobody holds")
        self._lock.release()
        return OK


class Cond:
    """A condition variable: a signal marks the oldest waiter's ticket, a broadcast all."""

    def __init__(self, abandoned: Callable[[], bool]) -> None:
        self._cv = sync.Condition(sync.Lock())
        self._tickets: collections.deque[list[bool]] = collections.deque()
        self._abandoned = abandoned

    def wait(self, mutex: Mutex) -> int:
        ticket = [False]
        with self._cv:
            self._tickets.append(ticket)
            mutex.unlock()
            try:
                while not ticket[0]:
                    self._cv.wait(SLICE)
                    if not ticket[0] and self._abandoned():
                        return ABORT
            finally:
                if not ticket[0]:
                    self._tickets.remove(ticket)
        return mutex.lock()

    def signal(self) -> int:
        with self._cv:
            if self._tickets:
                self._tickets.popleft()[0] = True
                self._cv.notify_all()
        return OK

    def broadcast(self) -> int:
        with self._cv:
            for ticket in self._tickets:
                ticket[0] = True
            self._tickets.clear()
            self._cv.notify_all()
        return OK
