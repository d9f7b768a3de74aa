"""Locks, conditions, events and threads that a test harness can schedule.

Use them instead of ``threading``'s (``from pytest_mjit import sync as threading`` works for
the types below): the API and the semantics are ``threading``'s.

* Outside a controlled run, ``Lock()``, ``RLock()``, ``Condition()`` and ``Event()`` return
  ``threading``'s own objects, and ``Thread`` is a ``threading.Thread`` whose ``start`` and
  ``join`` make one extra check: no cost beyond that (``bench/bench_machines.py`` measures it).
* Inside a controlled run (``controlled_run(scheduler)``, started by the harness), every
  start, join, acquire, release, wait and ``sleep`` is a scheduling point: one controlled
  thread runs at a time, a strategy decides which, timeouts pass only when nothing else can
  run, and a deadlock is reported at once with what each thread waits for.

A thread the run did not start (a thread of raw ``threading``, a foreign thread entering
Python through a ctypes callback) is never blocked by the scheduler: its operations are the
real ones, counted as uncontrolled, and while such a thread lives no deadlock is declared.
(A thread created by C that has not yet entered Python is invisible: run C workers on a
``Thread`` of this module, whose callbacks are then scheduled like any of its operations.)

After ``os.fork`` the child has no controlled run; its primitives work as ``threading``'s,
and a lock left held by a thread of the parent makes a controlled run in the child end with
a deadlock verdict instead of hanging."""

from __future__ import annotations

import _thread
import collections
import contextlib
import itertools
import os
import threading as _threading
import time
from typing import Any, Callable, Iterator

from ._sched import Deadlock, Scheduler
from ._schedules import PCT, RandomWalk

__all__ = ["Lock", "RLock", "Condition", "Event", "Thread", "sleep", "checkpoint",
           "controlled_run", "current_run", "Deadlock", "Scheduler", "RandomWalk", "PCT",
           "current_thread",
           "main_thread", "get_ident", "enumerate"]

_active: Scheduler | None = None
_ids = itertools.count(1)
# threading's own, so that ``from pytest_mjit import sync as threading`` is a one-line switch.
get_ident = _threading.get_ident
current_thread = _threading.current_thread
main_thread = _threading.main_thread
enumerate = _threading.enumerate


def current_run() -> Scheduler | None:
    """The scheduler of the controlled run in progress in this process, or None."""
    s = _active
    return s if s is not None and s.active else None


@contextlib.contextmanager
def controlled_run(scheduler: Scheduler, name: str | None = None) -> Iterator[Scheduler]:
    """Run the block as the first controlled thread of ``scheduler``; primitives made
    meanwhile are controlled.  On exit the run stops (every waiting thread goes on with the
    real operation)."""
    global _active
    if current_run() is not None:
        from ._errors import MjitError
        raise MjitError("a controlled run is already in progress in this process")
    _active = scheduler
    scheduler.enter(name)
    try:
        yield scheduler
    finally:
        scheduler.stop()
        _active = None


def _after_fork_in_child() -> None:
    global _active
    if _active is not None:
        _active.abandon_in_child()
    _active = None


os.register_at_fork(after_in_child=_after_fork_in_child)


def _holder() -> tuple[Scheduler | None, Any]:
    """(scheduler, record of the calling thread) in a controlled run; (scheduler, None) for a
    thread outside it (counted); (None, None) outside a run."""
    s = _active
    if s is None or not s.active:
        return None, None
    t = s.record_of_current()
    if t is None:
        s.note_unknown()
    return s, t


def _raise_if_deadlock(s: Scheduler, how: str) -> None:
    if how == "deadlock" and s.deadlock is not None:
        raise s.deadlock


class _Lock:
    """A controlled ``threading.Lock``: the real lock plus the run's bookkeeping."""

    __slots__ = ("_real", "_owner", "_label", "_given_up", "__weakref__")

    def __init__(self, label: str | None = None) -> None:
        self._real = _thread.allocate_lock()
        self._owner: int | None = None
        self._label = label or f"lock {next(_ids)}"
        #: a thread that could not take the lock back after a deadlock verdict: its next
        #: release (leaving a ``with`` block) must not release another thread's hold
        self._given_up: int | None = None

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not blocking and timeout != -1:
            raise ValueError("can't specify a timeout for a non-blocking call")
        if timeout < 0 and timeout != -1:
            raise ValueError("timeout value must be a non-negative number")
        s, t = _holder()
        if s is None or t is None:
            return self._take(self._real.acquire(blocking, timeout))
        s.point(t, f"acquire {self._label}")
        end = s.clock + timeout     # on the run's virtual clock, when timeout > 0
        while True:
            if self._real.acquire(False):
                return self._take(True)
            if not blocking or timeout == 0 or (timeout > 0 and s.clock >= end):
                return False
            how = s.block(t, self, self._label, end - s.clock if timeout > 0 else None)
            _raise_if_deadlock(s, how)
            if how == "timeout":
                return False
            if how == "stopped":
                return self._take(self._real.acquire(blocking, timeout))

    def _take(self, got: bool) -> bool:
        if got:
            self._owner = get_ident()
        return got

    def _release_quiet(self) -> None:
        """Release and wake waiters without a scheduling point."""
        if not self._real.locked():
            raise RuntimeError("release unlocked lock")
        self._owner = None
        self._real.release()
        s = _active
        if s is not None and s.active:
            s.wake(self)

    def release(self) -> None:
        if self._given_up is not None and self._given_up == get_ident():
            self._given_up = None
            return
        self._release_quiet()
        s, t = _holder()
        if s is not None and t is not None:
            s.point(t, f"release {self._label}")

    def locked(self) -> bool:
        return self._real.locked()

    def _is_owned(self) -> bool:
        return self._real.locked() and self._owner == get_ident()

    def _release_save(self) -> Any:
        self.release()

    def _acquire_restore(self, state: Any) -> None:
        self.acquire()

    def _give_up(self) -> None:
        """After a deadlock verdict in ``Condition.wait``: take the lock back if it is free,
        else remember that this thread does not hold it."""
        if not self._take(self._real.acquire(False)):
            self._given_up = get_ident()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<controlled {'locked' if self.locked() else 'unlocked'} {self._label}>"


class _RLock:
    """A controlled ``threading.RLock``, built on a controlled lock."""

    def __init__(self) -> None:
        self._block = _Lock(f"rlock {next(_ids)}")
        self._owner: int | None = None
        self._count = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        me = get_ident()
        if self._owner == me:
            self._count += 1
            return True
        got = self._block.acquire(blocking, timeout)
        if got:
            self._owner, self._count = me, 1
        return got

    def release(self) -> None:
        if self._owner != get_ident():
            raise RuntimeError("cannot release un-acquired lock")
        self._count -= 1
        if self._count == 0:
            self._owner = None
            self._block.release()

    def _is_owned(self) -> bool:
        return self._owner == get_ident()

    def _release_save(self) -> Any:
        state, self._owner, self._count = (self._count, self._owner), None, 0
        self._block.release()
        return state

    def _acquire_restore(self, state: Any) -> None:
        self._block.acquire()
        self._count, self._owner = state

    def _give_up(self) -> None:
        self._block._give_up()
        self._count, self._owner = 1, get_ident()

    __enter__ = acquire

    def __exit__(self, *exc: Any) -> None:
        self.release()


class _Condition:
    """A controlled ``threading.Condition`` (CPython's algorithm: one lock per waiter)."""

    def __init__(self, lock: Any = None) -> None:
        self._lock = lock if lock is not None else _RLock()
        self.acquire, self.release = self._lock.acquire, self._lock.release
        self._waiters: collections.deque[_Lock] = collections.deque()
        self._label = f"condition {next(_ids)}"

    def __enter__(self) -> bool:
        return self._lock.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._lock.__exit__(*exc)

    def _is_owned(self) -> bool:
        return self._lock._is_owned()

    def wait(self, timeout: float | None = None) -> bool:
        if not self._is_owned():
            raise RuntimeError("cannot wait on un-acquired lock")
        waiter = _Lock(f"a notify of {self._label}")
        waiter._take(waiter._real.acquire())
        self._waiters.append(waiter)
        saved = self._lock._release_save()
        gotit, dead = False, False
        try:
            if timeout is None:
                gotit = waiter.acquire()
            elif timeout > 0:
                gotit = waiter.acquire(True, timeout)
            else:
                gotit = waiter.acquire(False)
            return gotit
        except Deadlock:
            dead = True      # the run is over: never block for real on the lock
            raise
        finally:
            if dead:
                self._lock._give_up()
            else:
                self._lock._acquire_restore(saved)
            if not gotit:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass

    def wait_for(self, predicate: Callable[[], Any], timeout: float | None = None) -> Any:
        endtime = None
        waittime = timeout
        result = predicate()
        while not result:
            if waittime is not None:
                if endtime is None:
                    endtime = time.monotonic() + waittime
                else:
                    waittime = endtime - time.monotonic()
                    if waittime <= 0:
                        break
            self.wait(waittime)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        if not self._is_owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        waiters = self._waiters
        while waiters and n > 0:
            waiter = waiters[0]
            try:
                waiter._release_quiet()
            except RuntimeError:
                pass     # already released by a timed-out waiter
            else:
                n -= 1
            try:
                waiters.remove(waiter)
            except ValueError:
                pass

    def notify_all(self) -> None:
        self.notify(len(self._waiters))

    def __repr__(self) -> str:
        return f"<controlled {self._label} ({len(self._waiters)} waiters)>"


class _Event:
    """A controlled ``threading.Event``."""

    def __init__(self) -> None:
        self._cond = _Condition(_Lock())
        self._flag = False

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        with self._cond:
            self._flag = True
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        with self._cond:
            signaled = self._flag
            if not signaled:
                signaled = self._cond.wait(timeout)
            return signaled


def _in_run() -> bool:
    return current_run() is not None


def Lock() -> Any:
    """``threading.Lock()``; controlled inside a run."""
    return _Lock() if _in_run() else _threading.Lock()


def RLock() -> Any:
    """``threading.RLock()``; controlled inside a run."""
    return _RLock() if _in_run() else _threading.RLock()


def Condition(lock: Any = None) -> Any:
    """``threading.Condition(lock)``; controlled inside a run or over a controlled lock."""
    if isinstance(lock, (_Lock, _RLock)) or (lock is None and _in_run()):
        return _Condition(lock)
    return _threading.Condition(lock)


def Event() -> Any:
    """``threading.Event()``; controlled inside a run."""
    return _Event() if _in_run() else _threading.Event()


class Thread(_threading.Thread):
    """``threading.Thread``; started inside a run by a controlled thread, it is controlled:
    its start, its end and every ``join`` of it are scheduling points."""

    _mjit_record: Any = None

    def start(self) -> None:
        s, t = _holder()
        if s is None or t is None:
            return super().start()
        self._mjit_record = s.spawn(self.name)
        super().start()
        s.wait_attached(self._mjit_record)
        s.point(t, f"start {self.name}")

    def run(self) -> None:
        rec = self._mjit_record
        if rec is None:
            return super().run()
        rec.sched.attach(rec)
        try:
            super().run()
        finally:
            rec.sched.leave(rec)

    def join(self, timeout: float | None = None) -> None:
        rec = self._mjit_record
        s, t = _holder()
        if s is not None and t is not None and rec is not None and rec.sched is s \
                and rec.state != "done" and self is not _threading.current_thread():
            how = s.block(t, rec, f"the end of {self.name}", timeout)
            _raise_if_deadlock(s, how)
            if how == "timeout":
                return
        super().join(timeout)


def sleep(seconds: float) -> None:
    """``time.sleep``; in a controlled run, a wait that lets every other thread run first."""
    s, t = _holder()
    if s is None or t is None:
        time.sleep(seconds)
        return
    s.block(t, None, f"{seconds:g}s to pass", seconds)


def checkpoint(label: str) -> None:
    """A scheduling point with no operation (a place in harness or engine code where a
    switch should be possible); nothing outside a controlled run."""
    s, t = _holder()
    if s is not None and t is not None:
        s.point(t, label)
