"""An engine whose ``finish`` once outlived the harness's deadline is known to hang: from then
on the run cuts every client call's deadline to ``AFTER_HANG`` seconds and the leak guard no
longer waits for threads to end, so that a broken engine costs seconds per test, not minutes,
and each test it affects says which hang cut it short.  Healthy engines never meet the cut.

The first hang is shared with the run's other processes (xdist workers, and those that replace
them) through a file in the controller's session dir."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["AFTER_HANG", "begin_run", "end_run", "note", "first", "cut", "grace"]

#: Seconds (before scaling) a client call may take once the engine is known to hang.
AFTER_HANG = 0.25
#: Seconds (before scaling) a whole test phase (or protocol-machine example) may take then: a
#: test may call ``finish`` without a deadline of its own.
PHASE_AFTER_HANG = 2.5
_FILE = "engine-hung"

_first: str | None = None
_shared: Path | None = None
_saved: list[tuple[str | None, Path | None]] = []


def begin_run(shared_dir: str | Path | None) -> None:
    """Start a run's memory (nested runs, as pytester's in-process ones, get their own)."""
    global _first, _shared
    _saved.append((_first, _shared))
    _first, _shared = None, (Path(shared_dir) / _FILE if shared_dir is not None else None)


def end_run() -> None:
    global _first, _shared
    if _saved:
        _first, _shared = _saved.pop()


def note(what: str) -> None:
    """``what`` (an engine call) did not return within its deadline in the current test."""
    global _first
    if first() is not None:
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
    _first = f"{what} did not return in {test}" if test else f"{what} did not return"
    if _shared is not None:
        try:
            tmp = _shared.with_name(f"{_FILE}.{os.getpid()}")
            tmp.write_text(_first)
            os.replace(tmp, _shared)
        except OSError:
            pass


def first() -> str | None:
    """The first hang of the run (in any of its processes), or None."""
    global _first
    if _first is None and _shared is not None:
        try:
            _first = _shared.read_text() or None
        except OSError:
            pass
    return _first


def cut(seconds: float, to: float = AFTER_HANG) -> tuple[float, str | None]:
    """(``seconds``, None) while the engine is not known to hang; afterwards the shorter of
    ``seconds`` and ``to``, and why."""
    hang = first()
    if hang is None or seconds <= to:
        return seconds, None
    return to, f"cut to {to:g}s (before scaling) after a hang: {hang}"


def grace(seconds: float) -> float:
    """How long to wait for an engine's threads to end: ``seconds``, or nothing once the
    engine is known to hang (its threads stay)."""
    return 0.0 if first() is not None else seconds
