"""The rig: how the harness starts engines and what it holds them to afterwards.

A ``Rig`` owns one tmp dir, at most one compiler shim, and the hosts and engines started through
it; it takes a snapshot (``Observer.snapshot``) when it is made and another after finish, and
what the engines left behind (threads, processes, files in the tmp dir, libraries mapped from
it) is the difference of the two.  The pytest fixtures, the protocol machines' examples and the
reference engine's own tests all start engines through one, so they agree on what a leftover
is."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any, Callable

from . import _hangs
from ._deadline import deadline, scale
from ._observe import Child, Mapping, Observer, Snapshot
from ._options import Options
from ._shim import CompilerShim
from ._shim._control import still_running

__all__ = ["LEFTOVER_KINDS", "FINISH_QUIET", "Leftovers", "Rig"]

#: The kinds of leftovers, as ``Observer.allow`` names them.
LEFTOVER_KINDS = ("threads", "children", "files", "maps")
#: Seconds (before scaling) ``engine.finish()`` may go on without a sign of work through the
#: rig's shim (a compiler running, or one more run) before the engine is taken to hang.  A
#: correct finish waits for the compiler it has started (FINISH-1), and does little else.
FINISH_QUIET = 5.0


@dataclasses.dataclass(frozen=True)
class Leftovers:
    """What a rig's engines left: the change from the rig's first snapshot to its last, the
    files in its tmp dir and the libraries mapped from under its ``maps_under`` dir."""

    tmp_dir: str
    threads: dict[int, str]
    children: tuple[Child, ...]
    files: tuple[str, ...]
    maps: tuple[Mapping, ...]

    def __bool__(self) -> bool:
        return bool(self.threads or self.children or self.files or self.maps)

    def items(self, allowed: frozenset[str] | set[str] = frozenset()) -> list[tuple[str, str]]:
        """``(kind, line)`` for each kind left behind and not in ``allowed``."""
        found = []
        if self.threads and "threads" not in allowed:
            found.append(("threads", "threads: " + ", ".join(sorted(self.threads.values()))))
        if self.children and "children" not in allowed:
            found.append(("children", "child processes: " + ", ".join(
                f"{c.pid} [{c.state}] {' '.join(c.cmdline[:3])}" for c in self.children)))
        if self.files and "files" not in allowed:
            found.append(("files", f"files in {self.tmp_dir}: " + ", ".join(self.files)))
        if self.maps and "maps" not in allowed:
            found.append(("maps", "mapped libraries: " + ", ".join(
                m.path + (" (deleted)" if m.deleted else "") for m in self.maps)))
        return found

    def lines(self, allowed: frozenset[str] | set[str] = frozenset()) -> list[str]:
        return [line for _kind, line in self.items(allowed)]


class Rig:
    """Engines started under the harness, and what they leave behind.

    ``tmp_dir`` is the engines' tmp dir (it may not exist yet); ``marker`` (from
    ``_strays.new_marker()``, already in the environment) makes the processes that carry it
    count as the rig's wherever they were re-parented; mapped libraries count from under
    ``maps_under`` (default ``tmp_dir``)."""

    def __init__(self, tmp_dir: str | os.PathLike, *, marker: str | None = None,
                 maps_under: str | os.PathLike | None = None) -> None:
        self.tmp_dir = Path(tmp_dir)
        self.marker = marker
        self.maps_under = Path(maps_under) if maps_under is not None else self.tmp_dir
        self.observer = Observer(self.tmp_dir, self._first_host)
        self.shim: CompilerShim | None = None
        self.hosts: list[Any] = []
        #: (host, engine, options) of every engine started, in order
        self.started: list[tuple[Any, Any, Options]] = []
        self.before: Snapshot = self.observer.snapshot(marker)

    def _first_host(self) -> Any:
        return self.hosts[0] if self.hosts else None

    # -- starting ---------------------------------------------------------------------------

    def add_shim(self, binary: str | os.PathLike, control_dir: str | os.PathLike, real: str,
                 family: str | None, version: str = "") -> CompilerShim:
        """The rig's compiler shim (``binary`` linked into ``control_dir``) running ``real``."""
        self.shim = CompilerShim(binary, control_dir, real, family, version)
        return self.shim

    def options(self, **fields: Any) -> Options:
        """Options with the shim as compiler and the rig's tmp dir, then ``fields``."""
        base: dict[str, Any] = dict(tmp_dir=str(self.tmp_dir))
        if self.shim is not None:
            base.update(cc=self.shim.path, cc_family=self.shim.family)
        base.update(fields)
        return Options(**base)

    def host(self, options: Options, header_file: str | None = None) -> Any:
        """A new host VM for ``options``, closed by ``close``."""
        from ._session import make_host
        host = make_host(options, header_file)
        self.hosts.append(host)
        return host

    def start(self, host: Any, factory: Callable[[Any, Options], Any],
              created: Callable[[Any], None] | None = None) -> Any:
        """Create an engine on ``host`` (``created(engine)`` is told first), attach and
        ``init`` it; it is finished by ``finish_all``."""
        engine = factory(host, host.options)
        if created is not None:
            created(engine)
        self.started.append((host, engine, host.options))
        host.attach(engine)
        engine.init()
        return engine

    # -- ending -----------------------------------------------------------------------------

    def release_all(self) -> None:
        """Let every shim hold and host gate go."""
        if self.shim is not None:
            self.shim.release_all()
        for host in self.hosts:
            try:
                host.release_all()
            except Exception:
                pass

    @staticmethod
    def finish(engine: Any, seconds: float, what: str, *, hang: str | None = None,
               busy: Callable[[], object] | None = None, quiet: float = 0.0,
               **kwargs: Any) -> None:
        """``engine.finish(**kwargs)`` within ``deadline(seconds, what, hang=hang,
        busy=busy, quiet=quiet)``: given ``busy`` (as ``progress``), a finish that shows no
        sign of work for ``quiet`` seconds ends sooner."""
        with deadline(seconds, what, hang=hang, busy=busy, quiet=quiet):
            engine.finish(**kwargs)

    def finish_watched(self, engine: Any, seconds: float, what: str) -> None:
        """``engine.finish()`` within ``seconds``, cut after ``FINISH_QUIET`` seconds that
        show no sign of work through the shim (``progress``); an expiry makes the engine
        known to hang."""
        self.finish(engine, seconds, what, hang="engine.finish()", busy=self.progress,
                    quiet=FINISH_QUIET)

    def progress(self) -> object:
        """What the engines visibly do through the shim: a new token whenever a compiler
        runs or ran since the last call (for ``finish``'s ``busy``)."""
        if self.shim is None:
            return None
        invocations = self.shim.invocations()     # one read of the log per look
        if still_running(invocations):
            return object()          # never equal: a running compiler is work
        return len(invocations)

    def new_threads(self) -> dict[int, str]:
        """Threads alive now that were not in the first snapshot."""
        before = self.before.threads
        return {i: n for i, n in self.observer.threads().items() if i not in before}

    def leftovers(self, grace: float) -> Leftovers:
        """The difference between the first snapshot and one taken now; threads and processes
        get ``grace`` seconds (scaled; none once the engine is known to hang) to go away."""
        end = time.monotonic() + scale(_hangs.grace(grace))
        before_pids = {c.pid for c in self.before.children}
        pause = 0.005
        # Threads and processes only while waiting; the whole snapshot (files, maps) once.
        while (self.new_threads() or any(c.pid not in before_pids
                                         for c in self.observer.processes(self.marker))) \
                and time.monotonic() < end:
            time.sleep(pause)
            pause = min(0.05, pause * 2)
        diff = self.before.diff(self.observer.snapshot(self.marker))
        own = {self.shim.control_dir.name} if self.shim is not None \
            and self.shim.control_dir.parent == self.tmp_dir else set()
        prefix = os.path.join(str(self.maps_under), "")
        return Leftovers(
            tmp_dir=str(self.tmp_dir), threads=diff.threads_added,
            children=tuple(diff.children_added),
            files=tuple(f for f in diff.files_added if f not in own),
            maps=tuple(m for m in diff.maps_added if m.path.startswith(prefix)))

    def close(self, reap: tuple[Child, ...] = ()) -> None:
        """Kill compilers still running, kill and reap the processes ``reap`` (leftovers
        already named), reap the rig's zombies and close its hosts.  Never raises."""
        if self.shim is not None:
            self.shim.kill_running()
        for child in reap:
            _reap(child, kill=True)
        before = {c.pid for c in self.before.children}
        for child in self.observer.children():
            if child.pid not in before and child.state == "Z":
                _reap(child, kill=False)
        for host in self.hosts:
            try:
                host.close()
            except Exception:
                pass


def _reap(child: Child, kill: bool) -> None:
    try:
        if kill and child.state != "Z":
            os.kill(child.pid, 9)
        os.waitpid(child.pid, 0 if kill else os.WNOHANG)
    except (ProcessLookupError, ChildProcessError, PermissionError):
        pass
