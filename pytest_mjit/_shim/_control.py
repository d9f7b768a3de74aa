"""The shim controller: per-test rules (hold, fail, crash, hang, slow) and the parsed log."""

from __future__ import annotations

import dataclasses
import os
import re
import signal as _signal
from pathlib import Path

from .._deadline import scale, wait_for
from .._errors import MjitError

__all__ = ["CompilerShim", "Hold", "Invocation", "parse_log", "still_running", "KINDS", "MAX_RULES"]

KINDS = ("pch", "compile", "link")
#: Rules one shim reads (``MAX_RULES`` in shim.c); more would be ignored, so none are taken.
MAX_RULES = 1024
_UNESCAPE = re.compile(r"%([0-9A-F]{2})")
#: How long a hold or hang may last before the shim lets go by itself (scaled by the preset).
MAX_HOLD = 120.0


def _unescape(field: str) -> str:
    raw = _UNESCAPE.sub(lambda m: chr(int(m.group(1), 16)), field)
    return raw.encode("latin-1").decode("utf-8", "surrogateescape")


@dataclasses.dataclass(frozen=True)
class Invocation:
    """One run of the compiler through the shim (times are ``time.monotonic()`` seconds)."""

    seq: int
    pid: int
    ppid: int
    argv: tuple[str, ...]
    kind: str            #: "pch", "compile" or "link"
    action: str          #: "run", "hold", "fail", "crash", "hang" or "slow"
    rule: str | None     #: id of the rule applied, if any
    start: float
    end: float | None = None
    exit: int | None = None      #: exit status, when it exited
    signal: int | None = None    #: terminating signal, when it died by one
    ran: float | None = None     #: when the real compiler was started (None: it was not)

    @property
    def running(self) -> bool:
        return self.end is None

    @property
    def compiler_seconds(self) -> float:
        """How long the real compiler ran (0 while it runs or if it never ran): the
        toolchain's own time, without the shim's holds and slow-downs."""
        return self.end - self.ran if self.end is not None and self.ran is not None else 0.0

    @property
    def output(self) -> str | None:
        """The argument of ``-o``, if any."""
        args = self.argv
        for i, arg in enumerate(args[:-1]):
            if arg == "-o":
                return args[i + 1]
        return None

    @property
    def ok(self) -> bool:
        return self.exit == 0 and self.signal is None


def parse_log(text: str) -> list[Invocation]:
    """Parse ``shim.log`` into invocations ordered by start time (``seq`` from 1)."""
    starts: dict[int, dict] = {}
    ends: dict[int, tuple[float, int, int, float | None]] = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if fields[0] == "start" and len(fields) >= 7:
            pid = int(fields[1])
            starts[pid] = dict(pid=pid, ppid=int(fields[2]), start=int(fields[3]) / 1e9,
                               kind=fields[4], action=fields[5],
                               rule=None if fields[6] == "-" else fields[6],
                               argv=tuple(_unescape(f) for f in fields[7:]))
        elif fields[0] == "end" and len(fields) >= 5:
            ran_ns = int(fields[6]) if len(fields) > 6 else 0
            ends[int(fields[1])] = (int(fields[2]) / 1e9, int(fields[3]), int(fields[4]),
                                    ran_ns / 1e9 if ran_ns else None)
    result = []
    for seq, rec in enumerate(sorted(starts.values(), key=lambda r: (r["start"], r["pid"])), 1):
        end = ends.get(rec["pid"])
        if end is not None:
            t, status, sig, ran = end
            rec.update(end=t, exit=None if sig else status, signal=sig or None, ran=ran)
        result.append(Invocation(seq=seq, **rec))
    return result


class Hold:
    """A held (or hung) compiler rule: the matching invocation waits until ``release()``."""

    def __init__(self, shim: "CompilerShim", rule_id: str) -> None:
        self._shim = shim
        self.rule_id = rule_id

    def _reached(self) -> list[int]:
        prefix = f"reached.{self.rule_id}."
        return sorted(int(n[len(prefix):]) for n in os.listdir(self._shim.control_dir)
                      if n.startswith(prefix))

    @property
    def reached(self) -> bool:
        return bool(self._reached())

    @property
    def pid(self) -> int | None:
        """Pid of the first shim process that reached the hold, or None."""
        pids = self._reached()
        return pids[0] if pids else None

    @property
    def pids(self) -> list[int]:
        return self._reached()

    def wait_reached(self, timeout: float = 10.0) -> int:
        """Wait (bounded, scaled) until a compiler invocation is held here; return its pid."""
        wait_for(lambda: self.reached, timeout, f"a compiler invocation to reach hold "
                 f"{self.rule_id}", extra=self._shim.describe)
        return self.pids[0]

    def release(self) -> None:
        """Let the held invocation (and any later match) go on."""
        self._shim._release(self.rule_id)

    def __repr__(self) -> str:
        return f"<Hold {self.rule_id} pid={self.pid}>"


class CompilerShim:
    """Controls the shim binary of one test (the ``mjit_cc`` fixture).

    ``path`` is what to give an engine as ``Options.cc``; ``real`` is the compiler it runs."""

    def __init__(self, binary: str | os.PathLike, control_dir: str | os.PathLike, real: str,
                 family: str | None, version: str = "") -> None:
        self.control_dir = Path(control_dir)
        self.control_dir.mkdir(parents=True, exist_ok=True)
        self.path = str(self.control_dir / "cc")
        try:
            os.link(binary, self.path)
        except OSError:
            import shutil
            shutil.copy2(binary, self.path)
        self.real = real
        self.family = family
        self.version = version
        self._rules: list[tuple[str, str, str, int, str, str, int, int]] = []
        self._next = 0
        self._write_conf()

    # -- rules ---------------------------------------------------------------------------
    def _write_conf(self) -> None:
        lines = [f"real\t{self.real}", f"maxhold\t{scale(MAX_HOLD):.3f}"]
        lines += ["\t".join(["rule", rid, action, kind, str(nth), arg, match, str(owner),
                             str(objects)])
                  for rid, action, kind, nth, arg, match, owner, objects in self._rules]
        tmp = self.control_dir / "shim.conf.tmp"
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, self.control_dir / "shim.conf")

    def _add(self, action: str, kind: str | None, match: str | None, nth: int | None,
             arg: str = "", objects: int | None = None) -> str:
        if kind is not None and kind not in KINDS:
            raise MjitError(f"shim rule kind={kind!r}: expected one of {', '.join(KINDS)} or None")
        if nth is not None and (not isinstance(nth, int) or isinstance(nth, bool) or nth < 1):
            raise MjitError(f"shim rule nth={nth!r}: expected an integer >= 1 or None")
        if objects is not None and (not isinstance(objects, int) or isinstance(objects, bool)
                                    or objects < 1):
            raise MjitError(f"shim rule objects={objects!r}: expected an integer >= 1 or None")
        if match is not None and any(c in match for c in "\t\n"):
            raise MjitError(f"shim rule match={match!r}: tabs and newlines cannot be matched")
        if len(self._rules) >= MAX_RULES:
            raise MjitError(f"the compiler shim holds at most {MAX_RULES} rules; "
                            "clear_rules() drops them")
        self._next += 1
        rid = f"r{self._next}"
        # Only the arming process's own compiler runs match (never a forked child's).
        self._rules.append((rid, action, kind or "*", nth or 0, arg, match or "", os.getpid(),
                            objects or 0))
        self._write_conf()
        return rid

    # Every rule matches invocations of ``kind`` (any if None) whose arguments contain
    # ``match``, that name at least ``objects`` .o files (a compaction's link names several),
    # the ``nth`` such invocation only if given.

    def hold(self, kind: str | None = None, match: str | None = None,
             nth: int | None = None, *, objects: int | None = None) -> Hold:
        """Matching invocations wait at start until released, then run the compiler."""
        return Hold(self, self._add("hold", kind, match, nth, objects=objects))

    def hang(self, kind: str | None = None, match: str | None = None,
             nth: int | None = None, *, objects: int | None = None) -> Hold:
        """Matching invocations block until released, then exit 1 without compiling."""
        return Hold(self, self._add("hang", kind, match, nth, objects=objects))

    def fail(self, kind: str | None = None, match: str | None = None,
             nth: int | None = None, *, objects: int | None = None) -> str:
        """Matching invocations exit 1 without running the compiler."""
        return self._add("fail", kind, match, nth, objects=objects)

    def crash(self, kind: str | None = None, match: str | None = None,
              nth: int | None = None, signal: int = _signal.SIGSEGV, *,
              objects: int | None = None) -> str:
        """Matching invocations kill themselves with ``signal``."""
        if not isinstance(signal, int) or not 0 < int(signal) < _signal.NSIG:
            raise MjitError(f"shim crash signal={signal!r}: expected a signal number")
        return self._add("crash", kind, match, nth, str(int(signal)), objects)

    def slow(self, kind: str | None = None, match: str | None = None,
             nth: int | None = None, ms: int = 100, *, objects: int | None = None) -> str:
        """Matching invocations sleep ``ms`` milliseconds, then run the compiler."""
        if not isinstance(ms, int) or isinstance(ms, bool) or ms < 0:
            raise MjitError(f"shim slow ms={ms!r}: expected an integer >= 0")
        return self._add("slow", kind, match, nth, str(ms), objects)

    def _release(self, rule_id: str) -> None:
        (self.control_dir / f"release.{rule_id}").touch()

    def clear_rules(self) -> None:
        """Drop every rule (releasing holds first, so nothing stays blocked)."""
        self.release_all()
        self._rules.clear()
        self._write_conf()

    def release_all(self) -> None:
        """Release every hold and hang."""
        for rid, action, *_ in self._rules:
            if action in ("hold", "hang"):
                self._release(rid)

    # -- log -----------------------------------------------------------------------------
    def invocations(self) -> list[Invocation]:
        """Every invocation so far, parsed from the log, in start order."""
        try:
            text = (self.control_dir / "shim.log").read_text("utf-8", "surrogateescape")
        except FileNotFoundError:
            return []
        return parse_log(text)

    def running(self) -> list[Invocation]:
        """Invocations that started and have not ended."""
        return still_running(self.invocations())

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait (bounded, scaled) until no compiler invocation is running."""
        wait_for(lambda: not self.running(), timeout, "compiler invocations to end",
                 extra=self.describe)

    def kill_running(self) -> list[int]:
        """SIGKILL shim processes still running (teardown's last resort); return their pids."""
        killed = []
        for inv in self.running():
            try:
                os.kill(inv.pid, _signal.SIGKILL)
                killed.append(inv.pid)
            except ProcessLookupError:
                pass
        return killed

    def describe(self) -> str:
        """A short text of rules and invocations, for failure messages."""
        lines = [f"compiler shim {self.path} -> {self.real}"]
        lines += [f"  rule {r[0]}: {r[1]} kind={r[2]} nth={r[3]} arg={r[4]!r} match={r[5]!r}"
                  + (f" objects>={r[7]}" if r[7] else "") for r in self._rules]
        for inv in self.invocations():
            state = "running" if inv.running else (
                f"signal {inv.signal}" if inv.signal else f"exit {inv.exit}")
            lines.append(f"  #{inv.seq} pid {inv.pid} {inv.kind} {inv.action}: {state}: "
                         + " ".join(inv.argv[1:]))
        return "\n".join(lines)


def still_running(invocations: list[Invocation]) -> list[Invocation]:
    """Those of ``invocations`` that started and have not ended."""
    return [i for i in invocations if i.running and _alive(i.pid)]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")
