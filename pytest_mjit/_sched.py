"""The scheduler of a controlled run: one token, passed at every operation of the primitives
in ``pytest_mjit.sync``, so that exactly one controlled thread runs at a time and a strategy
decides which one.

A controlled thread is in one of these states: ``run`` (holds the token), ``ready`` (at a
scheduling point, may be given the token), ``blocked`` (waits for a resource: a lock, a
condition's notify, a thread's end, or, with ``timed``, only for time to pass), ``external``
(the token holder is blocked outside the primitives, at a point the run's ``externals``
callback reports, such as a held compiler; choosing it lets that point go) and ``done``.

Timeouts are virtual: a timed wait times out only when no other controlled thread can run,
or when the token holder spins (``SPIN`` points in a row) while nothing else can run; time
then passes on the run's virtual clock to the end of the earliest timed wait, so waits end in
the order of their ends (a 1 ms sleep before a 1 s wait), whatever the strategy.
When every controlled thread is blocked, nothing can time out, nothing external is held and
no thread outside the run can release anything, the run ends with a ``Deadlock`` verdict
raised in the first controlled thread (the one that entered the run)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable

from ._deadline import scale
from ._sched_loans import Loans
from ._schedules import Deadlock, Strategy, ThreadRecord, is_window

__all__ = ["Scheduler", "Deadlock", "Strategy", "ThreadRecord", "TOKEN_SAFETY_SECONDS"]

#: A controlled thread that waits this long (scaled) for the token stops being controlled:
#: it goes on as if the run had ended (noted), so a stuck harness never hangs a thread.
TOKEN_SAFETY_SECONDS = 120.0
#: How often (seconds) a waiting thread asks ``externals`` whether the token holder is held.
EXTERNAL_POLL = 0.001

#: Points a thread may pass in a row while another could run (or a timed wait could end)
#: before the scheduler takes it for a spin-wait and lets the others run, or time pass
#: (``Scheduler._fair_switch``).  Far more than any step of a protocol machine passes, so
#: only a loop that waits for another thread reaches it.
SPIN = 20_000


class Scheduler(Loans):
    """One controlled run.  ``externals()`` lists ``(label, release)`` for points outside the
    primitives where the token holder may be held (called with no lock of the scheduler
    held, from waiting threads).  ``protocol(label)`` tells which scheduling points are
    protocol points: the first thread can let the others run up to a number of them
    (``defer_first``) or until each one stopped at one or waits (``settle``); a thread held
    outside counts as stopped at one."""

    def __init__(self, strategy: Strategy, *,
                 externals: Callable[[], list[tuple[str, Callable[[], None]]]] | None = None,
                 protocol: Callable[[str], bool] | None = None,
                 log_limit: int = 400) -> None:
        self.strategy = strategy
        self._externals = externals
        self._cv = threading.Condition(threading.Lock())
        self._by_ident: dict[int, ThreadRecord] = {}
        self._threads: list[ThreadRecord] = []
        self._current: ThreadRecord | None = None
        self._last: ThreadRecord | None = None     #: the thread that ran last
        self._deferred = 0            #: points the first thread leaves to the others
        self._since = time.monotonic()  #: when the token holder got the token
        self._protocol = protocol or (lambda label: False)
        self._counts: Callable[[str], bool] = lambda label: True
        self._settling = False
        self._keep_windows = False
        self._windows = 0             #: window points left before a loan ends (0: no such end)
        self.active = True
        self.pid = os.getpid()
        self.points = 0               #: scheduling points passed
        self.switches = 0             #: points where the token changed hands
        self.fair_switches = 0        #: switches away from a thread that spun (see SPIN)
        self._streak = 0              #: points the holder passed in a row with others ready
        self.uncontrolled = 0         #: operations on controlled primitives by other threads
        self.unknown_threads: set[int] = set()
        self.schedule: list[str] = []  #: the switches, in order (the last ``log_limit``)
        self._log_limit = log_limit
        self.deadlock: Deadlock | None = None
        self.clock = 0.0              #: virtual seconds passed in timed waits
        self.notes: list[str] = []
        self._present: set[int | None] = set()   #: threads alive when the run began
        self._ever: set[int | None] = set()      #: every thread the run controlled

    # -- membership ----------------------------------------------------------------------

    def record_of_current(self) -> ThreadRecord | None:
        """The calling thread's record, or None if it is not controlled (or the run ended)."""
        if not self.active:
            return None
        return self._by_ident.get(threading.get_ident())

    def controlled_idents(self) -> set[int]:
        """Idents of the controlled threads alive now."""
        with self._cv:
            return set(self._by_ident)

    def enter(self, name: str | None = None) -> ThreadRecord:
        """Make the calling thread the run's first controlled thread; it holds the token."""
        with self._cv:
            self._present = {th.ident for th in threading.enumerate()}
            t = self._new(name or threading.current_thread().name)
            t.ident = threading.get_ident()
            self._by_ident[t.ident] = t
            self._ever.add(t.ident)
            if self._current is None:
                t.state, self._current = "run", t
        return t

    def _new(self, name: str) -> ThreadRecord:
        t = ThreadRecord(self, len(self._threads), name)
        self._threads.append(t)
        self.strategy.new_thread(t)
        return t

    def spawn(self, name: str) -> ThreadRecord:
        """A record for a thread the token holder is about to start (ready, no ident yet)."""
        with self._cv:
            return self._new(name)

    def attach(self, t: ThreadRecord) -> None:
        """Called first thing on the started thread: bind it and wait for the token."""
        with self._cv:
            t.ident = threading.get_ident()
            self._by_ident[t.ident] = t
            self._ever.add(t.ident)
            self._cv.notify_all()
            self._await(t)

    def wait_attached(self, t: ThreadRecord, seconds: float = 30.0) -> None:
        end = time.monotonic() + scale(seconds)
        with self._cv:
            while t.ident is None and self.active and time.monotonic() < end:
                self._cv.wait(0.01)

    def leave(self, t: ThreadRecord) -> None:
        """The thread's body returned: wake its joiners and pass the token on."""
        with self._cv:
            t.state = "done"
            if t.ident is not None:
                self._by_ident.pop(t.ident, None)
            self._wake_locked(t)
            if self._current is t:
                self._current = None
                if self.active:
                    self._pass_on(None, f"{t.name} ends")

    def windowed(self) -> bool:
        """True if a thread besides the first stands where a loan stopped it."""
        with self._cv:
            return any(t.windowed for t in self._threads[1:] if t.state != "done")

    def others_can_move(self) -> bool:
        """True if a thread besides the first could run if lent the token: it is ready, held
        outside (a compiler), or in a timed wait that time may end."""
        with self._cv:
            return any(t.state in ("ready", "external") or (t.state == "blocked" and t.timed)
                       for t in self._threads[1:])

    def note_unknown(self) -> None:
        """A thread outside the run used a controlled primitive (counted, never blocked)."""
        with self._cv:
            self.uncontrolled += 1
            self.unknown_threads.add(threading.get_ident())

    # -- the token -----------------------------------------------------------------------

    def point(self, t: ThreadRecord, label: str) -> None:
        """A scheduling point of the token holder ``t``: the strategy may give the token to
        another runnable thread; ``t`` continues when it gets it back."""
        with self._cv:
            if not self.active or self._current is not t:
                return
            self.points += 1
            t.parked = self._protocol(label)
            self._count_deferred(t, label)
            first = self._threads[0]
            lent = self._lending() and t is not first
            runnable = self._runnable(t)
            # Only a point with a choice counts for the strategy (PCT's k is the number of
            # such points, not of all operations).
            preempt = (lent or len(runnable) > 1) and self.strategy.tick(t, label, lent)
            at_window = lent and self._windows > 0 and is_window(t.last, label)
            if at_window:
                self._windows -= 1
            t.last = label
            self._streak = self._streak + 1 if len(runnable) > 1 or self._timed() else 0
            stop = (preempt or (at_window and self._windows == 0)) and lent
            if self._deferral_over(t) or stop:
                t.parked = True             # stopped by the end of a loan: stays there
                t.windowed = stop
                nxt = first
            elif self._streak >= SPIN:
                nxt = self._fair_switch(t, runnable)
            else:
                nxt = runnable[0] if len(runnable) == 1 else self.strategy.choose(
                    t, runnable, preempt)
            if nxt is not t:
                t.state = "ready"
                self._give(nxt, f"{t.name} at {label}")
                self._await(t)

    def _fair_switch(self, t: ThreadRecord, runnable: list[ThreadRecord]) -> ThreadRecord:
        """``t`` passed SPIN points in a row while others could run or a timed wait could
        end: it spins, waiting for one of them (as CRuby's stop_worker loops until the worker
        says it stopped).  An OS would run the others in the end, and time would pass, so the
        strategy demotes ``t`` and picks among the others, or the earliest timed wait ends;
        this costs none of the strategy's bound."""
        self._streak = 0
        self.fair_switches += 1
        self.strategy.demote(t)
        others = [r for r in runnable if r is not t]
        if others:
            return self.strategy.choose(None, others, False)
        return self._time_passes()

    def _timed(self) -> list[ThreadRecord]:
        return [t for t in self._threads if t.state == "blocked" and t.timed]

    def _time_passes(self) -> ThreadRecord:
        """The virtual clock moves to the end of the earliest timed wait; that wait (or, if
        several end then, the one the strategy picks) times out.  Lock held; a timed wait
        exists."""
        ends = {t: t.until for t in self._timed() if t.until is not None}
        until = min(ends.values())
        t = self.strategy.choose(None, [t for t, end in ends.items() if end <= until], False)
        self.clock = max(self.clock, until)
        t.wake = "timeout"
        return t

    def block(self, t: ThreadRecord, resource: Any, what: str,
              timeout: float | None = None) -> str:
        """The token holder waits for ``resource`` (None: only for time to pass), for at
        most ``timeout`` virtual seconds (None: no limit).  Returns ``woken``, ``timeout``,
        ``stopped`` (the run ended) or ``deadlock``."""
        with self._cv:
            if not self.active or self._current is not t:
                return "stopped"
            self.points += 1
            t.state, t.waits, t.what, t.wake = "blocked", resource, what, None
            t.until = None if timeout is None else self.clock + max(0.0, timeout)
            self._current = None
            self._pass_on(t, f"{t.name} waits for {what}")
            self._await(t)
            t.waits, t.what = None, ""
            return t.wake or "stopped"

    def wake(self, resource: Any) -> None:
        """Threads blocked on ``resource`` become ready (any thread may call this)."""
        with self._cv:
            if self._wake_locked(resource) and self._current is None and self.active:
                self._pass_on(None, "woken from outside the run")

    def _wake_locked(self, resource: Any) -> bool:
        woke = False
        for t in self._threads:
            if t.state == "blocked" and t.waits is resource and resource is not None:
                t.state, t.wake, woke = "ready", "woken", True
        if woke:
            self._cv.notify_all()
        return woke

    # -- choosing ------------------------------------------------------------------------

    def _runnable(self, holder: ThreadRecord | None) -> list[ThreadRecord]:
        out = [t for t in self._threads if t.state in ("ready", "external")
               or (t is holder and t.state == "run")]
        first = self._threads[0]
        if self._settling:
            out = [t for t in out if t is first or self._settles(t)]
        elif self._keep_windows and self._lending():
            out = [t for t in out if not t.windowed]
        if self._deferred and len(out) > 1 and first in out:
            out.remove(first)
        return out

    def _pass_on(self, holder: ThreadRecord | None, why: str,
                 subject: ThreadRecord | None = None) -> None:
        """Give the token to a runnable thread; if none, time out a timed wait; if none,
        wait for something outside; else declare a deadlock.  Lock held, no token holder
        besides ``holder`` (which stays runnable when given)."""
        if self._deferral_over(holder):
            self._give(self._threads[0], why)
            return
        runnable = self._runnable(holder)
        if runnable:
            self._give(self.strategy.choose(subject or holder, runnable, False), why)
            return
        if self._timed():
            self._give(self._time_passes(), why + "; time passes")
            return
        if self._outside_can_act():
            self._current = None        # a thread outside the run may release something
            return
        blocked = {t.name: t.what for t in self._threads if t.state == "blocked"}
        self.deadlock = Deadlock(blocked, self.schedule)
        first = self._threads[0]
        first.wake = "deadlock" if first.state == "blocked" else first.wake
        self.active = False
        self._cv.notify_all()

    def _outside_can_act(self) -> bool:
        """True if a thread outside the run still exists that used a controlled primitive or
        was started after the run began (it may still wake someone: a deadlock verdict must
        never be wrong), or a blocked thread waits for a lock held by a live thread outside
        the run."""
        alive = {th.ident for th in threading.enumerate()}
        if self.unknown_threads & alive or alive - self._present - self._ever:
            return True
        for t in self._threads:
            owner = getattr(t.waits, "_owner", None) if t.state == "blocked" else None
            if owner is not None and owner not in self._by_ident and owner in alive:
                return True
        return False

    def _give(self, t: ThreadRecord, why: str) -> None:
        prev, self._last = self._last, t
        if t is not prev:
            self._streak = 0
            self.switches += 1
            self.schedule.append(f"{why} -> {t.name}")
            if len(self.schedule) > self._log_limit:
                del self.schedule[0]
        if t.state == "external" and t.release is not None:
            release, t.release = t.release, None
            release()
        if t.state == "blocked" and t.wake is None:
            t.wake = "woken"
        t.state, t.parked, t.windowed = "run", False, False
        self._current = t
        self._since = time.monotonic()
        self._cv.notify_all()

    # -- waiting for the token -----------------------------------------------------------

    def _await(self, t: ThreadRecord) -> None:
        """Wait (lock held) until ``t`` holds the token or the run ends.  While waiting, ask
        ``externals`` whether the holder is held outside the primitives."""
        start = time.monotonic()
        while self.active and self._current is not t:
            holder = self._current
            polling = (self._externals is not None and holder is not None
                       and holder.state == "run" and holder is not self._threads[0])
            if polling:
                # Back off while the same holder keeps running (a compile that is not held).
                self._cv.wait(min(0.02, max(EXTERNAL_POLL, (time.monotonic() - self._since) / 8)))
            else:
                self._cv.wait(0.05)
            if not self.active or self._current is t:
                break
            if polling and holder is not None and self._current is holder \
                    and holder.state == "run":
                self._check_external(holder)
            elif self._current is None:
                # Everyone waits on something outside the run: look again (it may have
                # released something, or ended, which makes this a deadlock).
                self._pass_on(None, "a thread outside the run moved")
            if time.monotonic() - start > scale(TOKEN_SAFETY_SECONDS):
                self.notes.append(f"{t.name} waited {scale(TOKEN_SAFETY_SECONDS):.0f}s for "
                                  "the token and went on uncontrolled")
                self.uncontrolled += 1
                self.stop_locked()
                break

    def _check_external(self, holder: ThreadRecord) -> None:
        if self._externals is None:
            return
        self._cv.release()
        try:
            held = self._externals()
        finally:
            self._cv.acquire()
        if not held or self._current is not holder or holder.state != "run":
            return
        label, release = held[0]
        holder.state, holder.what, holder.release = "external", label, release
        holder.parked = True
        self._current = None
        self._count_deferred(holder, label)
        self._pass_on(None, f"{holder.name} held at {label}", subject=holder)

    # -- the end -------------------------------------------------------------------------

    def stop_locked(self) -> None:
        self.active = False
        for t in self._threads:
            if t.state == "external" and t.release is not None:
                t.release()
                t.release = None
        self._cv.notify_all()

    def stop(self) -> None:
        """End the run: every waiting thread goes on with the real operation."""
        with self._cv:
            self.stop_locked()

    def abandon_in_child(self) -> None:
        """After ``fork`` in the child: no thread of the run exists here; the run is over
        and its lock (which a vanished thread may hold) is replaced."""
        self._cv = threading.Condition(threading.Lock())
        self.active = False
        self._by_ident.clear()

    def describe(self) -> str:
        # Called from a deadline's signal handler too, which may interrupt this very thread
        # inside a critical section of the scheduler: never wait for its lock.
        if not self._cv.acquire(timeout=0.5):
            return (f"controlled run: (scheduler busy) {self.points} points, "
                    f"{self.switches} switches")
        try:
            states = ", ".join(repr(t) for t in self._threads)
            holder = self._current.name if self._current else "nobody"
        finally:
            self._cv.release()
        spins = f" ({self.fair_switches} after a spin)" if self.fair_switches else ""
        return (f"controlled run: token with {holder}; threads {states}; {self.points} points, "
                f"{self.switches} switches{spins}, {self.clock:g}s of virtual time; "
                f"last switches:\n  "
                + "\n  ".join(self.schedule[-12:]))
