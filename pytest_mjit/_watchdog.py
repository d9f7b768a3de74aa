"""The watchdog behind the in-process deadlines (``_deadline.deadline``).  An engine can defeat
those (it may swallow the exception, spin in C holding the GIL, or reset the timer), so
``Watchdog`` adds a separate process that kills the pytest process (and its descendants) once
a test outlives its deadline plus a grace; under xdist the controller then reports the test as
crashed.  Nothing here calls the engine."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from typing import Iterator

__all__ = ["Watchdog", "GRACE"]

#: Seconds (before scaling) the watchdog waits past a phase's deadline before it kills.
GRACE = 15.0


# The watchdog process: stdlib only, reads "arm SECONDS WHAT", "disarm", "dir PATH",
# "report PATH", "words PATH", "output" and "bye" lines.  On expiry it kills the watched
# process's descendants and then the process itself; when the watched process is gone without
# "bye" it writes the tail of the capture files it holds (opened on "output": the files behind
# the watched process's stdout and stderr, when they are regular files) to the "words" file,
# removes the directories it was told of and says in the unfinished report (written at start)
# what the process was doing.  "PATH.pending" exists while the words may still come.
_PROGRAM = r"""
import json, os, select, shutil, signal, stat, sys, tempfile, time
watched = int(sys.argv[1])
held, words = {}, None
def hold_output():
    for fd in (1, 2):
        path = f"/proc/{watched}/fd/{fd}"
        try:
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) in held:
                continue
            held[(st.st_dev, st.st_ino)] = os.open(path, os.O_RDONLY)
        except OSError:
            pass
def last_words():
    parts = []
    for fd in held.values():
        try:
            size = os.fstat(fd).st_size
            parts.append(os.pread(fd, 4000, max(0, size - 4000)).decode("utf-8", "replace"))
        except OSError:
            pass
    return "".join(parts)
def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except OSError:
        return False
def replace(path, text):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
def mark(path, doing):
    try:
        with open(path) as f:
            report = json.load(f)
        if report.get("finished") is not False:
            return
        old = report["certificate"]["line"]
        new = (f"mjit certificate: NOT GRANTED: the run did not finish: pytest process {watched} "
               f"died{doing}, before writing its report (run with -n 1 or more for a verdict "
               "per test)")
        report["certificate"]["line"] = new
        replace(path, json.dumps(report, indent=2) + "\n")
        md = path[:-5] + ".md" if path.endswith(".json") else path + ".md"
        with open(md) as f:
            text = f.read()
        replace(md, text.replace(old, new))
    except (OSError, ValueError, KeyError):
        pass
def descendants(pid):
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    kids = [int(k) for k in f.read().split()]
            except OSError:
                kids = []
            for k in kids:
                if k != os.getpid() and k not in found:
                    found.append(k)
                    todo.append(k)
    return found
end, what, dirs, buf, said_bye, report, killed = None, "", [], b"", False, None, False
while True:
    timeout = None if end is None else max(0.0, end - time.monotonic())
    ready = select.select([0], [], [], timeout)[0]
    if not ready:
        sys.stderr.write(f"\npytest-mjit watchdog: {what} outlived its deadline and the grace; "
                         f"killing pytest process {watched} and its descendants\n")
        sys.stderr.flush()
        for pid in [watched] + descendants(watched):
            try:
                os.kill(pid, signal.SIGSTOP)
            except OSError:
                pass
        for pid in descendants(watched) + [watched]:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        killed = True
        break
    data = os.read(0, 65536)
    if not data:
        break
    buf += data
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        cmd, _, arg = line.decode("utf-8", "replace").partition(" ")
        if cmd == "arm":
            seconds, _, what = arg.partition(" ")
            end = time.monotonic() + float(seconds)
        elif cmd == "disarm":
            end = None
        elif cmd == "dir":
            dirs.append(arg)
        elif cmd == "report":
            report = arg
        elif cmd == "words":
            words = arg
            try:
                open(words + ".pending", "w").close()
            except OSError:
                pass
        elif cmd == "output":
            hold_output()
        elif cmd == "bye":
            said_bye = True
if not said_bye:
    for _ in range(200):
        if not alive(watched):
            break
        time.sleep(0.05)
    if words:
        try:
            replace(words, last_words())
        except OSError:
            pass
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
    if report:
        doing = f" during {what}" if end is not None else " between tests"
        mark(report, (" (killed by the watchdog)" if killed else "") + doing)
if words:
    try:
        os.unlink(words + ".pending")
    except OSError:
        pass
"""


class Watchdog:
    """A watchdog process for this pytest process, started on first use."""

    def __init__(self) -> None:
        self._owner = os.getpid()
        self._proc: subprocess.Popen | None = None
        self._told: list[str] = []     #: lines the process gets first, when it starts
        self._armed: list[tuple[float, str]] = []   #: open ``armed`` blocks: (end, what)
        self._words = False

    @property
    def pid(self) -> int | None:
        """The watchdog process, once started."""
        return self._proc.pid if self._proc is not None else None

    def _send(self, line: str) -> None:
        if os.getpid() != self._owner:      # a forked child never speaks for its parent
            return
        if self._proc is None:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _PROGRAM, str(self._owner)],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=True,
                pass_fds=(), close_fds=True)
            for line in self._told:
                self._write(line)
        self._write(line)

    def _write(self, line: str) -> None:
        if self._proc is None or self._proc.stdin is None:
            return
        try:
            self._proc.stdin.write((line.replace("\n", " ") + "\n").encode())
            self._proc.stdin.flush()
        except (OSError, ValueError):
            pass    # the watchdog is gone; the in-process deadline still stands

    def _tell(self, line: str) -> None:
        self._told.append(line)
        if self._proc is not None:
            self._write(line)

    def remove_on_crash(self, directory: str) -> None:
        """Have ``directory`` removed if this process dies without ``close``."""
        self._tell(f"dir {directory}")

    def leave_last_words(self, path: str) -> None:
        """If this process dies without ``close``, write to ``path`` the end of what its
        tests printed (see ``hold_output``); ``path + ".pending"`` exists until then."""
        self._words = True
        self._tell(f"words {path}")

    def hold_output(self) -> None:
        """Keep the files now behind stdout and stderr (pytest's capture files during a
        test) open in the watchdog, so that they can be read after this process died.
        Only when the words have somewhere to go (``leave_last_words``)."""
        if self._words:
            self._send("output")

    def mark_report_on_crash(self, path: str) -> None:
        """If this process dies without ``close``, say in the unfinished report at ``path``
        which test phase it died in."""
        self._tell(f"report {path}")

    @contextlib.contextmanager
    def armed(self, seconds: float, what: str) -> Iterator[None]:
        """Kill this process if the block outlasts ``seconds`` (already scaled).  Blocks nest:
        the process is armed for the earliest end of the open ones."""
        entry = (time.monotonic() + seconds, what)
        self._armed.append(entry)
        self._rearm()
        try:
            yield
        finally:
            self._armed.remove(entry)
            self._rearm()

    def _rearm(self) -> None:
        if not self._armed:
            self._send("disarm")
            return
        end, what = min(self._armed)
        self._send(f"arm {max(end - time.monotonic(), 0.0):.3f} {what}")

    def close(self) -> None:
        if self._proc is None or os.getpid() != self._owner:
            return
        self._write("bye")
        try:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        except OSError:
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None
