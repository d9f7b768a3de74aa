"""``host.fork``: the fork sequence MRI runs around an engine, with a bounded child."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import select
import signal
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any, Callable

from .. import sync
from .._deadline import DeadlineExceeded, deadline, scale
from .._sched import Scheduler
from .._schedules import RandomWalk
from ._events import EventLog

if TYPE_CHECKING:
    from ._vm import Host

__all__ = ["ForkResult", "run_fork"]

#: Seconds (before scaling) the child's engine.finish() may take; cut short once the engine is
#: known to hang (``_hangs``).
CHILD_FINISH = 30.0


@dataclasses.dataclass(frozen=True)
class ForkResult:
    """What a forked child did: its pid, the value ``child_fn`` returned (unpickled), the
    error text if it raised or could not report, and its exit status (negative: the signal
    that killed it)."""

    child_pid: int
    result: Any
    error: str | None
    exit_status: int


def run_fork(host: "Host", child_fn: Callable[["Host"], Any], timeout: float, log: EventLog,
             reset_child: Callable[[], None]) -> ForkResult:
    """``engine.pause(wait=False)``, fork, ``resume`` in the parent and ``child_after_fork``,
    ``child_fn(host)`` and ``finish`` in the child; the child is always reaped.  The fork is
    recorded in ``log``; ``reset_child`` makes the host's state fit the child first."""
    engine = host.engine
    if engine is not None:
        engine.pause(wait=False)
    controlled = sync.current_run() is not None
    sys.stdout.flush()
    sys.stderr.flush()
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except BaseException:
        os.close(read_fd)
        os.close(write_fd)
        if engine is not None:
            engine.resume()
        raise
    if pid == 0:
        _run_child(host, child_fn, read_fd, write_fd, controlled, reset_child)
    os.close(write_fd)
    log.record("fork", detail=f"child {pid}")
    try:
        if engine is not None:
            engine.resume()
    finally:
        data, killed = _read_until_eof(read_fd, pid, scale(timeout))
        _, status = os.waitpid(pid, 0)
    exit_status = os.waitstatus_to_exitcode(status)
    if killed:
        return ForkResult(pid, None, f"child killed after its deadline of {scale(timeout):.1f}s",
                          exit_status)
    try:
        result, error = pickle.loads(data)
    except Exception as exc:
        return ForkResult(pid, None, f"child sent no readable result ({type(exc).__name__}: "
                                     f"{exc}); exit status {exit_status}", exit_status)
    return ForkResult(pid, result, error, exit_status)


def _read_until_eof(fd: int, pid: int, limit: float) -> tuple[bytes, bool]:
    """Everything the child writes until it closes the pipe; kill it at the deadline."""
    chunks: list[bytes] = []
    end = time.monotonic() + limit
    try:
        while True:
            left = end - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                return b"", True
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return b"".join(chunks), False
                chunks.append(chunk)
    finally:
        os.close(fd)


def _run_child(host: "Host", child_fn: Callable[["Host"], Any], read_fd: int,
               write_fd: int, controlled: bool, reset_child: Callable[[], None]) -> None:
    """The child's whole life; it leaves only through ``os._exit`` (no pytest teardown).
    Forked from a controlled run, the child runs in a run of its own (a fixed, preemption-free
    schedule), so that what it does is the same on every replay."""
    status = 1
    try:
        os.close(read_fd)
        reset_child()
        with contextlib.ExitStack() as stack:
            if controlled:
                stack.enter_context(sync.controlled_run(Scheduler(RandomWalk(0, 0))))
            status = _child_body(host, child_fn, write_fd)
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)


def _child_body(host: "Host", child_fn: Callable[["Host"], Any], write_fd: int) -> int:
    """``child_after_fork``, ``child_fn`` and ``finish``; the result goes to ``write_fd``.
    Returns the exit status."""
    engine = host.engine
    result, errors = None, []
    try:
        if engine is not None:
            engine.child_after_fork()
        result = child_fn(host)
    except BaseException:
        errors.append(traceback.format_exc())
    try:
        if engine is not None and engine.enabled:
            with deadline(CHILD_FINISH, "engine.finish() in the fork child",
                          hang="engine.finish() in a fork child"):
                engine.finish()
    except DeadlineExceeded as exc:
        errors.append(str(exc).splitlines()[0])
    except BaseException:
        errors.append(traceback.format_exc())
    error = "\n".join(errors) or None
    try:
        data = pickle.dumps((result, error))
    except Exception as exc:
        data = pickle.dumps((None, f"child result is not picklable: {exc!r}"))
    view = memoryview(data)
    while view:
        view = view[os.write(write_fd, view):]
    return 0 if error is None else 1
