"""Observers: what the harness can see of an engine without asking it (files, mapped
libraries, threads, child processes, the host's event log), with snapshots and diffs."""

from __future__ import annotations

import ctypes
import dataclasses
import os
import struct
import threading
from pathlib import Path
from typing import Any, Iterable

from .host._maps import mapped_regions

__all__ = ["Mapping", "Child", "Snapshot", "Diff", "Observer", "DirWatch", "mapped_libraries",
           "child_processes", "python_threads", "list_files"]


@dataclasses.dataclass(frozen=True)
class Mapping:
    """A shared object mapped in this process (from /proc/self/maps)."""

    path: str
    deleted: bool


@dataclasses.dataclass(frozen=True)
class Child:
    """A child process of this process."""

    pid: int
    state: str       #: /proc state letter ("Z" = zombie, not yet reaped)
    cmdline: tuple[str, ...]


def mapped_libraries(suffix: str = ".so") -> set[Mapping]:
    """Files ending in ``suffix`` (before any " (deleted)") mapped in this process."""
    return {Mapping(r.file, r.deleted) for r in mapped_regions()
            if r.path.startswith("/") and r.file.endswith(suffix)}


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def child_processes(pid: int | None = None) -> set[Child]:
    """Direct children of ``pid`` (default this process), zombies included."""
    pid = os.getpid() if pid is None else pid
    pids: set[int] = set()
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        tasks = []
    for tid in tasks:
        text = _read(f"/proc/{pid}/task/{tid}/children")
        if text is None:
            pids = _scan_children(pid)
            break
        pids.update(int(p) for p in text.split())
    children = set()
    for child in pids:
        stat = _read(f"/proc/{child}/stat")
        if stat is None:
            continue
        state = stat.rsplit(")", 1)[1].split()[0]
        raw = _read(f"/proc/{child}/cmdline") or ""
        children.add(Child(child, state, tuple(a for a in raw.split("\0") if a)))
    return children


def _scan_children(pid: int) -> set[int]:
    found = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = _read(f"/proc/{name}/stat")
            if stat and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(name))
    return found


def python_threads() -> dict[int, str]:
    """Living Python threads: ident -> name."""
    return {t.ident: t.name for t in threading.enumerate() if t.ident is not None}


def list_files(directory: str | os.PathLike | None) -> set[str]:
    """Names of the entries of ``directory`` (empty when it is None or missing)."""
    if directory is None:
        return set()
    try:
        return set(os.listdir(directory))
    except OSError:
        return set()


_IN_MOVED_TO, _IN_CREATE, _IN_Q_OVERFLOW = 0x80, 0x100, 0x4000
_IN_NONBLOCK, _IN_CLOEXEC = os.O_NONBLOCK, os.O_CLOEXEC
_EVENT = struct.Struct("iIII")   # struct inotify_event without its name


class DirWatch:
    """Every name created in (or moved into) a directory while the watch is open, in order,
    even a file that is gone again before anyone could list the directory (Linux inotify).

    Use as a context manager, or ``close()`` it."""

    def __init__(self, directory: str | os.PathLike) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self._fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        if libc.inotify_add_watch(self._fd, os.fsencode(directory),
                                  _IN_CREATE | _IN_MOVED_TO) < 0:
            err = ctypes.get_errno()
            os.close(self._fd)
            raise OSError(err, f"cannot watch {os.fspath(directory)}")
        self._names: list[str] = []
        self._overflowed = False

    def created(self) -> list[str]:
        """The names created so far.  Raises OSError if the kernel dropped events."""
        while self._fd >= 0:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            offset = 0
            while offset < len(data):
                _wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                name = data[offset + _EVENT.size: offset + _EVENT.size + length]
                offset += _EVENT.size + length
                self._overflowed |= bool(mask & _IN_Q_OVERFLOW)
                if name.rstrip(b"\0"):
                    self._names.append(os.fsdecode(name.rstrip(b"\0")))
        if self._overflowed:
            raise OSError("the directory watch overflowed: some created names were lost")
        return list(self._names)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "DirWatch":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """What was observable at one moment."""

    files: frozenset[str]
    maps: frozenset[Mapping]
    threads: dict[int, str]
    children: frozenset[Child]
    events: int           #: length of the host's event log

    def diff(self, later: "Snapshot") -> "Diff":
        return Diff(
            files_added=sorted(later.files - self.files),
            files_removed=sorted(self.files - later.files),
            maps_added=sorted(later.maps - self.maps, key=lambda m: m.path),
            maps_removed=sorted(self.maps - later.maps, key=lambda m: m.path),
            threads_added={i: n for i, n in later.threads.items() if i not in self.threads},
            threads_removed={i: n for i, n in self.threads.items() if i not in later.threads},
            children_added=_by_pid(later.children, self.children),
            children_removed=_by_pid(self.children, later.children),
            events_from=self.events,
        )


def _by_pid(these: frozenset[Child], those: frozenset[Child]) -> list[Child]:
    """The processes of ``these`` whose pid is not in ``those``, by pid."""
    pids = {c.pid for c in those}
    return sorted((c for c in these if c.pid not in pids), key=lambda c: c.pid)


@dataclasses.dataclass(frozen=True)
class Diff:
    """The change between two snapshots."""

    files_added: list[str]
    files_removed: list[str]
    maps_added: list[Mapping]
    maps_removed: list[Mapping]
    threads_added: dict[int, str]
    threads_removed: dict[int, str]
    children_added: list[Child]
    children_removed: list[Child]
    events_from: int

    def __bool__(self) -> bool:
        return any((self.files_added, self.files_removed, self.maps_added, self.maps_removed,
                    self.threads_added, self.threads_removed, self.children_added,
                    self.children_removed))


class Observer:
    """The ``mjit_observe`` fixture: looks at the test's tmp dir, this process and a host."""

    def __init__(self, tmp_dir: str | os.PathLike, host_getter=None) -> None:
        self.tmp_dir = Path(tmp_dir)
        self._host_getter = host_getter or (lambda: None)
        self.allowed: set[str] = set()

    @property
    def host(self) -> Any:
        return self._host_getter()

    def files(self, directory: str | os.PathLike | None = None) -> set[str]:
        """Names in the tmp dir (or ``directory``)."""
        return list_files(self.tmp_dir if directory is None else directory)

    def maps(self, under: str | os.PathLike | None = None) -> set[Mapping]:
        """Mapped ``.so`` files, optionally only those under a directory."""
        found = mapped_libraries()
        if under is None:
            return found
        prefix = os.path.join(os.fspath(under), "")
        return {m for m in found if m.path.startswith(prefix)}

    def threads(self) -> dict[int, str]:
        return python_threads()

    def children(self) -> set[Child]:
        return child_processes()

    def events(self, kind: str | Iterable[str] | None = None, since: int = 0) -> list[Any]:
        """The host's events (optionally of some kinds, from index ``since``)."""
        host = self.host
        events = list(host.events)[since:] if host is not None else []
        if kind is None:
            return events
        kinds = {kind} if isinstance(kind, str) else set(kind)
        return [e for e in events if e.kind in kinds]

    def snapshot(self, marker: str | None = None) -> Snapshot:
        """Everything observable now.  With ``marker`` (``_strays.new_marker()``), the
        processes count those whose environment carries it, wherever they were re-parented."""
        host = self.host
        return Snapshot(
            files=frozenset(self.files()), maps=frozenset(self.maps()),
            threads=self.threads(), children=frozenset(self.processes(marker)),
            events=len(host.events) if host is not None else 0,
        )

    def processes(self, marker: str | None = None) -> set[Child]:
        """This process's children; with ``marker``, also the processes whose environment
        carries it, wherever they were re-parented."""
        children = self.children()
        if marker is not None:
            from ._strays import marked_processes
            pids = {c.pid for c in children}
            children |= {c for c in marked_processes(marker) if c.pid not in pids}
        return children

    def allow(self, *kinds: str) -> None:
        """Let this test leave some kinds of leftovers: "threads", "children", "files", "maps"."""
        bad = set(kinds) - {"threads", "children", "files", "maps"}
        if bad:
            raise ValueError(f"unknown leftover kind(s): {', '.join(sorted(bad))}")
        self.allowed.update(kinds)
