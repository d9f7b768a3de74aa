"""What an engine may leave outside the places the leak guard watches directly: processes that
are no longer its children (a grandchild, or a daemon that was re-parented), files beside its
tmp dir, and shared libraries mapped from elsewhere.

Processes are found by a marker in their environment: every process started during a harness
test inherits ``PYTEST_MJIT_TEST=<pid>:<n>`` unless its starter cleared the environment."""

from __future__ import annotations

import functools
import itertools
import os
import site
import sys
import sysconfig
import tempfile
from pathlib import Path

from ._observe import Child, Mapping

__all__ = ["MARKER_ENV", "RUN_ENV", "new_marker", "marked_processes", "Places", "foreign_maps"]

MARKER_ENV = "PYTEST_MJIT_TEST"
#: Every process a run starts (xdist workers, watchdogs, engines' children) inherits
#: ``PYTEST_MJIT_RUN=<pid>:<n>`` of the run's first process, so the run can check at its end.
RUN_ENV = "PYTEST_MJIT_RUN"
#: Entries that tools (not engines) create in a working directory during a test.
TOOL_ENTRIES = frozenset({".hypothesis", ".pytest_cache", "__pycache__"})
_counter = itertools.count(1)


def new_marker() -> str:
    return f"{os.getpid()}:{next(_counter)}"


def marked_processes(marker: str, env: str = MARKER_ENV) -> set[Child]:
    """Living processes (not this one) whose environment carries ``env=marker``."""
    needle = f"{env}={marker}\0".encode()
    found = set()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                if needle not in f.read() + b"\0":
                    continue
            with open(f"/proc/{name}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = tuple(a.decode(errors="replace") for a in f.read().split(b"\0") if a)
        except OSError:
            continue
        found.add(Child(int(name), state, cmdline))
    return found


class Places:
    """Directories an engine should not write to (the working directory, home, the system tmp
    dir), listed before a test so that entries it adds can be named after it."""

    def __init__(self) -> None:
        self._dirs = {d: _entries(d) for d in _places()}

    def added(self) -> list[str]:
        """Paths created since the listing; in the shared system tmp dir only those named like
        an engine's files of this process (other processes write there too)."""
        pid = str(os.getpid())
        tmp = Path(tempfile.gettempdir()).resolve()
        out = []
        for directory, before in self._dirs.items():
            for name in sorted(_entries(directory) - before - TOOL_ENTRIES):
                if directory == tmp and not (name.startswith("_ruby_mjit_") and pid in name):
                    continue
                out.append(str(directory / name))
        return out


def _places() -> set[Path]:
    places = {Path.cwd(), Path(tempfile.gettempdir())}
    if os.environ.get("HOME"):
        places.add(Path(os.environ["HOME"]))
    return {p.resolve() for p in places if p.is_dir()}


def _entries(directory: Path) -> set[str]:
    try:
        return set(os.listdir(directory))
    except OSError:
        return set()


@functools.lru_cache(maxsize=1)
def _system_dirs() -> tuple[str, ...]:
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, "/usr/lib", "/lib", "/lib64",
            "/usr/lib64", "/usr/local/lib"}
    dirs.update(sysconfig.get_paths().values())
    dirs.update(site.getsitepackages() + [site.getusersitepackages()])
    return tuple(os.path.join(os.path.realpath(d), "") for d in dirs)


def foreign_maps(maps: set[Mapping], tmp_dir: Path) -> set[Mapping]:
    """Mapped libraries that come neither from ``tmp_dir`` nor from the system or Python."""
    from ._cengine._abi import is_engine_copy

    allowed = _system_dirs() + (os.path.join(os.path.realpath(tmp_dir), ""),)
    return {m for m in maps
            if not os.path.realpath(m.path).startswith(allowed) and not is_engine_copy(m.path)}
