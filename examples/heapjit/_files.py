"""The engine's files: choosing the tmp dir, the protocol's file names, exclusive creation of
a unit's source, and removal that only the process which made a file may perform."""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

__all__ = ["choose_tmp_dir", "UnitPaths", "unit_paths", "pch_path", "create_source",
           "remove_owned"]

#: The directory the system names when neither TMPDIR nor TMP is usable (Linux).
SYSTEM_TMP_DIR = "/tmp"


def _usable_tmp_dir(path: str | None) -> bool:
    """A directory we may write, and not world-writable unless sticky (OPT-2)."""
    if not path:
        return False
    try:
        st = os.stat(path)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        return False
    if st.st_mode & stat.S_IWOTH and not st.st_mode & stat.S_ISVTX:
        return False
    return os.access(path, os.W_OK)


def choose_tmp_dir(configured: str | None) -> Path:
    """The configured dir as given, else TMPDIR, TMP, the system default (OPT-2)."""
    if configured is not None:
        return Path(configured)
    for candidate in (os.environ.get("TMPDIR"), os.environ.get("TMP"), SYSTEM_TMP_DIR):
        if candidate is not None and _usable_tmp_dir(candidate):
            return Path(candidate)
    return Path(SYSTEM_TMP_DIR)


@dataclasses.dataclass(frozen=True)
class UnitPaths:
    """The three files of one unit (COMPILE-2)."""

    source: Path
    obj: Path
    library: Path


def unit_paths(tmp_dir: Path, unit_id: int) -> UnitPaths:
    """``<tmp>/_ruby_mjit_p<pid>u<id>.{c,o,so}``, named with the calling process's pid, so a
    forked child's own units carry the child's pid (FORK-4)."""
    stem = f"_ruby_mjit_p{os.getpid()}u{unit_id}"
    return UnitPaths(tmp_dir / f"{stem}.c", tmp_dir / f"{stem}.o", tmp_dir / f"{stem}.so")


def pch_path(tmp_dir: Path) -> Path:
    """``<tmp>/_ruby_mjit_hp<pid>u0.h.gch`` (PCH-6), for both compiler families."""
    return tmp_dir / f"_ruby_mjit_hp{os.getpid()}u0.h.gch"


def create_source(path: Path):
    """Open a new ``.c`` for writing: created exclusively with mode 0600, never following a
    symlink or reusing a file already there (COMPILE-3).  Raises OSError."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    try:
        # The umask may have cleared bits of 0600, never added any; make it exact.
        os.fchmod(fd, 0o600)
        return os.fdopen(fd, "w", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def remove_owned(path: Path | None, owner_pid: int) -> None:
    """Delete ``path`` if this process made it; a forked child leaves its parent's files
    alone (FORK-2, FORK-3).  A file already gone is not an error."""
    if path is None or owner_pid != os.getpid():
        return
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError:
        pass
