"""Bounded waits and deadlines.  Every wait of the harness goes through here, so that on expiry
the failure carries every thread's stack instead of hanging the run.

``deadline()`` blocks nest: the harness keeps one stack of them on the main thread (the per-test
bound outermost, a client call's bound inside it, ...) and arms the real-time timer for the
earliest unexpired one.  An inner deadline longer than an outer one cannot extend it; one that
expires re-arms the timer for what is left of the others, so a block that hangs while handling
an expiry still meets the outer deadline.  An engine can defeat the timer (swallow the
exception, reset it, spin in C holding the GIL): the watchdog process (``_watchdog``) backs the
per-test bound for that."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import traceback
from typing import Any, Callable, Iterator

from . import _hangs
from ._errors import MjitError

__all__ = ["DeadlineExceeded", "scale", "set_scale", "all_stacks", "wait_for", "wait_event",
           "deadline", "active_deadlines"]

_scale = 1.0


class DeadlineExceeded(AssertionError):
    """A bound of the harness expired; the message holds every thread's stack."""


def set_scale(factor: float) -> None:
    """Multiply every harness deadline by ``factor`` (set by the preset)."""
    global _scale
    if factor <= 0:
        raise ValueError("deadline scale must be positive")
    _scale = float(factor)


def scale(seconds: float) -> float:
    """``seconds`` scaled by the current preset factor."""
    return seconds * _scale


def all_stacks() -> str:
    """A readable dump of every Python thread's current stack."""
    names = {t.ident: t.name for t in threading.enumerate()}
    parts = []
    for ident, frame in sys._current_frames().items():
        parts.append(f"--- thread {names.get(ident, '?')} ({ident})\n")
        parts.append("".join(traceback.format_stack(frame)))
    return "".join(parts)


def _expired(head: str, extra: Callable[[], str] | None) -> DeadlineExceeded:
    msg = head
    if extra is not None:
        try:
            msg += "\n" + extra()
        except Exception as exc:  # the dump must never hide the expiry itself
            msg += f"\n(state dump failed: {exc!r})"
    return DeadlineExceeded(msg + "\nthread stacks:\n" + all_stacks())


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, *,
             poll: float = 0.001, extra: Callable[[], str] | None = None) -> None:
    """Poll ``predicate`` until true; raise ``DeadlineExceeded`` after ``scale(timeout)``."""
    limit = scale(timeout)
    end = time.monotonic() + limit
    while not predicate():
        if time.monotonic() >= end:
            raise _expired(f"deadline of {limit:.1f}s expired waiting for {what}", extra)
        time.sleep(poll)


def wait_event(event: threading.Event, timeout: float, what: str, *,
               extra: Callable[[], str] | None = None) -> None:
    """Wait for ``event``; raise ``DeadlineExceeded`` after ``scale(timeout)``."""
    limit = scale(timeout)
    if not event.wait(limit):
        raise _expired(f"deadline of {limit:.1f}s expired waiting for {what}", extra)


# -- the stack of deadlines -----------------------------------------------------------------

class _Bound:
    """One open ``deadline()`` block.  With ``busy``, it ends at the first check (every
    ``quiet`` seconds) that finds ``busy()`` unchanged, ``limit`` seconds after it opened at
    the latest."""

    __slots__ = ("end", "limit", "what", "extra", "fired", "busy", "quiet", "token", "last")

    def __init__(self, limit: float, what: str, extra: Callable[[], str] | None,
                 busy: Callable[[], object] | None = None, quiet: float = 0.0) -> None:
        now = time.monotonic()
        self.last = now + limit
        self.limit = limit
        self.what = what
        self.extra = extra
        self.fired = False
        self.busy = busy if busy is not None and 0 < quiet < limit else None
        self.quiet = quiet
        self.token = _token(self.busy)
        self.end = now + quiet if self.busy is not None else self.last

    def renewed(self, now: float) -> bool:
        """At expiry: whether ``busy()`` changed since the last check (then the block gets
        another ``quiet`` seconds, up to its limit)."""
        if self.busy is None or self.end >= self.last:
            return False
        token = _token(self.busy)
        if token == self.token:
            return False
        self.token, self.end = token, min(now + self.quiet, self.last)
        return True

    def message(self) -> str:
        if self.busy is not None and self.end < self.last:
            return (f"deadline of {self.limit:.1f}s cut after {self.quiet:.1f}s without a sign "
                    f"of work: {self.what}")
        return f"deadline of {self.limit:.1f}s expired: {self.what}"


def _token(busy: Callable[[], object] | None) -> object:
    if busy is None:
        return None
    try:
        return busy()
    except Exception as exc:   # harness state only; a failure to read it is no progress
        return repr(exc)


class _Stack:
    """The open deadlines of this process (main thread only), outermost first, and the timer
    and SIGALRM handler that were in place before the first of them (restored after the last:
    a timer someone else had armed keeps running, less the time spent inside)."""

    def __init__(self) -> None:
        self.bounds: list[_Bound] = []
        self.previous: Any = None
        self.foreign_end: float | None = None
        self.busy = False       #: the stack is being changed: an alarm now is handled after
        self.pending = False

    def push(self, bound: _Bound) -> None:
        self.busy = True
        try:
            if not self.bounds:
                left = signal.getitimer(signal.ITIMER_REAL)[0]
                self.foreign_end = time.monotonic() + left if left else None
                self.previous = signal.signal(signal.SIGALRM, self._alarm)
            self.bounds.append(bound)
            self._arm()
        finally:
            self._settle()

    def pop(self, bound: _Bound) -> None:
        if bound not in self.bounds:
            return
        self.busy = True
        try:
            self.bounds.remove(bound)
            if self.bounds:
                self._arm()
            else:
                self._restore()
        finally:
            self._settle()

    def _restore(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous if self.previous is not None
                      else signal.SIG_DFL)
        if self.foreign_end is not None:
            signal.setitimer(signal.ITIMER_REAL,
                             max(self.foreign_end - time.monotonic(), 0.001))
        self.previous, self.foreign_end = None, None

    def _arm(self) -> None:
        ends = [b.end for b in self.bounds if not b.fired]
        if self.foreign_end is not None:
            ends.append(self.foreign_end)
        if not ends:
            signal.setitimer(signal.ITIMER_REAL, 0)
            return
        signal.setitimer(signal.ITIMER_REAL, max(min(ends) - time.monotonic(), 0.0005))

    def _settle(self) -> None:
        self.busy = False
        if self.pending:
            self.pending = False
            self._expire()

    def _alarm(self, signum: int, frame: Any) -> None:
        if self.busy:
            self.pending = True
            return
        self._expire()

    def _expire(self) -> None:
        now = time.monotonic()
        due = [b for b in self.bounds if not b.fired and b.end <= now + 0.0005
               and not b.renewed(now)]
        foreign = self.foreign_end is not None and self.foreign_end <= now + 0.0005
        for b in due:
            b.fired = True
        if foreign:
            self.foreign_end = None
        self._arm()
        if due:
            # several at once: the outermost names the bound that the test broke
            first = due[0]
            raise _expired(first.message(), first.extra)
        if foreign and callable(self.previous):
            self.previous(signal.SIGALRM, None)

    def reset(self) -> None:
        """After fork: the child has no timer and none of its parent's deadlines."""
        self.bounds.clear()
        self.previous, self.foreign_end, self.busy, self.pending = None, None, False, False


_STACK = _Stack()
os.register_at_fork(after_in_child=_STACK.reset)


@contextlib.contextmanager
def deadline(seconds: float, what: str, extra: Callable[[], str] | None = None, *,
             outer: bool = False, hang: str | None = None,
             busy: Callable[[], object] | None = None, quiet: float = 0.0) -> Iterator[None]:
    """Raise ``DeadlineExceeded`` in the main thread if the block outlasts ``scale(seconds)``,
    or an enclosing ``deadline`` ends first.  Blocks nest (see the module docstring).  Once the
    engine is known to hang (``_hangs``), ``seconds`` is cut short (less so when ``outer``: the
    bound of a whole test phase or example).  With ``hang`` (an engine call, as
    ``"engine.finish()"``), a block that ends in ``DeadlineExceeded`` makes the engine known
    to hang (``_hangs.note(hang)``).  With ``busy`` (a token of what the engine is visibly
    doing, as its compiler runs, read from the harness's own state), the block ends sooner:
    at the first check, every ``quiet`` seconds, that finds the token unchanged.

    Main thread only.  On expiry the handler formats every thread's stack and ``extra()``,
    which must be the harness's own state: nothing that calls the engine, which could block
    the handler for ever."""
    if threading.current_thread() is not threading.main_thread():
        raise MjitError(f"deadline({what!r}) works on the main thread only "
                        "(bound a helper thread's waits with wait_for or join it with a timeout)")
    seconds, why = _hangs.cut(seconds, _hangs.PHASE_AFTER_HANG if outer else _hangs.AFTER_HANG)
    what = f"{what} ({why})" if why else what
    bound = _Bound(scale(seconds), what, extra, busy, scale(quiet))
    try:
        try:
            _STACK.push(bound)
            yield
        finally:
            _leave(bound)
    except DeadlineExceeded:
        if hang is not None:
            _hangs.note(hang)
        raise


def _leave(bound: _Bound) -> None:
    """Take ``bound`` off the stack; an outer deadline that expires meanwhile is raised after."""
    expired: DeadlineExceeded | None = None
    while bound in _STACK.bounds:     # an alarm may land before the stack is changed: retry
        try:
            _STACK.pop(bound)
        except DeadlineExceeded as exc:
            expired = expired or exc
    if expired is not None:
        raise expired


def active_deadlines() -> list[tuple[str, float]]:
    """The open deadlines, outermost first: what each bounds and the seconds it has left
    (negative once it expired)."""
    now = time.monotonic()
    return [(b.what, b.end - now) for b in _STACK.bounds]
