"""The readable record of one example: the machine's steps and notes merged with the host's
event log and the shim's compiler log, one lane per thread, in time order."""

from __future__ import annotations

import threading
import time
from typing import Any

__all__ = ["Trace"]

#: Event kinds too chatty to show in a failure trace.
_QUIET_KINDS = frozenset({"call", "check_ints"})


class Trace:
    """Marks made by the harness (steps, releases, notes) with their thread and time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.start = time.monotonic()
        self.marks: list[tuple[float, str, str]] = []
        self.notes: list[str] = []
        self.steps: list[str] = []

    def step(self, text: str) -> None:
        """A rule of the machine starts (counted as a step)."""
        self.steps.append(text)
        self.mark(f"step {len(self.steps)}: {text}")

    def mark(self, text: str) -> None:
        with self._lock:
            self.marks.append((time.monotonic(), threading.current_thread().name, text))

    def note(self, text: str) -> None:
        """Something the harness wants in the report (uncontrolled moves, skipped checks)."""
        with self._lock:
            self.notes.append(text)
        self.mark(f"NOTE {text}")

    def render(self, events: Any = (), invocations: Any = (), limit: int = 400) -> str:
        """The merged trace of the marks, the host's ``events`` and the shim's
        ``invocations``: ``+seconds  thread  | what``, indented by lane."""
        rows: list[tuple[float, str, str]] = list(self.marks)
        if events:
            for e in events:
                if e.kind in _QUIET_KINDS:
                    continue
                where = f" iseq={e.iseq}" if e.iseq is not None else ""
                detail = f": {e.detail}" if e.detail else ""
                rows.append((e.time, e.thread, f"{e.kind}{where}{detail}"))
        if invocations:
            for inv in invocations:
                out = inv.output or "?"
                rows.append((inv.start, f"cc {inv.pid}", f"{inv.kind} start ({inv.action}) "
                                                          f"-o {out.rsplit('/', 1)[-1]}"))
                if inv.end is not None:
                    how = f"signal {inv.signal}" if inv.signal else f"exit {inv.exit}"
                    rows.append((inv.end, f"cc {inv.pid}", f"{inv.kind} end: {how}"))
        rows.sort(key=lambda r: r[0])
        lanes: dict[str, int] = {}
        for _, thread, _ in rows:
            lane = "cc" if thread.startswith("cc ") else thread
            lanes.setdefault(lane, len(lanes))
        lines = [f"threads: {', '.join(lanes)}"]
        shown = rows[-limit:]
        if len(rows) > limit:
            lines.append(f"... {len(rows) - limit} earlier entries left out")
        for t, thread, text in shown:
            column = lanes["cc" if thread.startswith("cc ") else thread]
            lines.append(f"{t - self.start:+9.4f} {thread[:14]:<14} |{'    ' * column} {text}")
        return "\n".join(lines)
