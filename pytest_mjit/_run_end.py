"""How a test or a run ended, in words a person can read: the reason of a failure, why a
run stopped early, how an xdist worker died; and the exit guard that keeps a thread an engine
left behind from keeping the pytest process alive for ever."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from ._deadline import DeadlineExceeded, scale, wait_for
from ._strays import RUN_ENV, marked_processes, new_marker
from ._text import REASON_LENGTH, clean

__all__ = ["deadline_in", "failure_reason", "interruption", "worker_exit_status", "exit_guard",
           "ExitGuard", "RunMark"]

#: Seconds (before scaling) the exit guard waits for left-behind threads to end by themselves.
EXIT_JOIN = 2.0


def _first_line(text: str) -> str:
    """The first non-blank line; with the next one when it ends in a colon (``the child
    failed:`` says nothing without what follows)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        return f"{lines[0]} {lines[1]}"
    return lines[0] if lines else ""


def failure_reason(exc: BaseException) -> str:
    """One line for a failure: the message of ``pytest.fail``, ``Type: message`` otherwise,
    and for an exception group (several teardown errors) each of its leaves."""
    if isinstance(exc, BaseExceptionGroup):
        leaves = [failure_reason(e) for e in exc.exceptions]
        return clean(f"{len(leaves)} errors: " + "; ".join(leaves), REASON_LENGTH)
    if isinstance(exc, pytest.fail.Exception):
        return clean(_first_line(exc.msg or "failed"), REASON_LENGTH)
    try:
        message = _first_line(str(exc))
    except Exception:
        message = "<unprintable>"
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return clean(text, REASON_LENGTH)


def deadline_in(exc: BaseException) -> DeadlineExceeded | None:
    """The harness deadline that expired in ``exc`` (or in one of its group's leaves)."""
    if isinstance(exc, DeadlineExceeded):
        return exc
    for sub in getattr(exc, "exceptions", ()) if isinstance(exc, BaseExceptionGroup) else ():
        found = deadline_in(sub)
        if found is not None:
            return found
    return None


def interruption(session: pytest.Session) -> str | None:
    """Why the run stopped before running every selected test, or None."""
    stop = session.shouldstop or session.shouldfail
    if stop:
        return clean(stop, REASON_LENGTH)
    status = session.exitstatus
    if status in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR):
        return f"exit status {pytest.ExitCode(status).name}"
    return None


def worker_exit_status(node) -> int | None:
    """The return code of a dead xdist worker (negative: the signal that killed it), or None
    when it cannot be known."""
    popen = getattr(getattr(getattr(node, "gateway", None), "_io", None), "popen", None)
    if popen is None:
        return None
    try:
        return popen.wait(timeout=scale(5.0))
    except (subprocess.TimeoutExpired, OSError):
        return None


class ExitGuard:
    """At interpreter exit, Python waits for every non-daemon thread.  A thread an engine left
    behind (the leak guard names it as a suspect) would keep the process alive for ever: the
    guard gives suspects EXIT_JOIN seconds, then ends the process with the run's exit status."""

    def __init__(self) -> None:
        self.suspects: dict[int, str] = {}
        self.status = 0
        self._installed = False

    def install(self) -> None:
        if not self._installed:
            # Private (no stub): runs before the interpreter joins non-daemon threads.
            threading._register_atexit(self._at_exit)  # type: ignore[attr-defined]
            self._installed = True

    def _at_exit(self) -> None:
        stuck = [t for t in threading.enumerate() if t.ident in self.suspects
                 and not t.daemon and t is not threading.main_thread()]
        for thread in stuck:
            thread.join(scale(EXIT_JOIN) / len(stuck))
        stuck = [t for t in stuck if t.is_alive()]
        if not stuck:
            return
        sys.stdout.flush()
        sys.stderr.write("pytest-mjit: the engine left non-daemon thread(s) running at exit ("
                         + ", ".join(clean(t.name) for t in stuck)
                         + "); exiting without waiting for them\n")
        sys.stderr.flush()
        os._exit(self.status)


exit_guard = ExitGuard()


class RunMark:
    """Marks every process the run starts (``_strays.RUN_ENV``), and at the end of the run
    finds, after a grace, those still living, and kills them: a worker that holds an engine it
    could not stop, a watchdog, a compiler or daemon an engine left."""

    def __init__(self) -> None:
        self.marker = new_marker()
        self._previous = os.environ.get(RUN_ENV)
        os.environ[RUN_ENV] = self.marker

    def leftovers(self, grace: float, spare: tuple[int | None, ...] = ()) -> list[str]:
        """"pid command" of each process of the run still living after ``scale(grace)``
        seconds (but those of ``spare``), each killed."""
        def living() -> set:
            return {c for c in marked_processes(self.marker, RUN_ENV)
                    if c.pid not in spare and c.state not in "ZX"}
        try:
            wait_for(lambda: not living(), grace, "the run's processes to end", poll=0.05)
            return []
        except DeadlineExceeded:
            pass
        left = sorted(living(), key=lambda c: c.pid)
        for child in left:
            try:
                os.kill(child.pid, 9)
            except OSError:
                pass
        return [f"{c.pid} {clean(' '.join(c.cmdline[:4]), 120)}" for c in left]

    def check(self, grace: float, spare: tuple[int | None, ...], terminal) -> list[str]:
        """``leftovers``, said on the terminal and returned as a problem of the run."""
        left = self.leftovers(grace, spare)
        if not left:
            return []
        line = f"the run left {len(left)} process(es) behind (killed): " + "; ".join(left)
        if terminal is not None:
            terminal.write_line("pytest-mjit: " + line, red=True)
        return [line]

    def close(self) -> None:
        if self._previous is None:
            os.environ.pop(RUN_ENV, None)
        else:
            os.environ[RUN_ENV] = self._previous
