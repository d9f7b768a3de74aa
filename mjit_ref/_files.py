"""The temporary directory, unique file names and the file operations of the worker."""

from __future__ import annotations

import os
import stat
from typing import IO

from ._log import Log

TMP_PREFIX = "_ruby_mjit_"

# O_EXCL|O_CREAT never opens an existing file; O_NOFOLLOW adds that a symlink planted at
# the name is refused too (COMPILE-3).
_EXCLUSIVE_FLAGS = (os.O_WRONLY | os.O_EXCL | os.O_CREAT | os.O_NOFOLLOW
                    | getattr(os, "O_CLOEXEC", 0))

#: mjit.c's system default on Linux, used when neither TMPDIR nor TMP is usable.
SYSTEM_DEFAULT_TMPDIR = "/tmp"


def check_tmpdir(path: str | None) -> bool:
    """True for an existing, writable directory that is not world-writable without the
    sticky bit (C: ``check_tmpdir``)."""
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


def system_tmpdir() -> str:
    """TMPDIR, else TMP, else the system default (C: ``system_tmpdir``, OPT-2)."""
    for name in ("TMPDIR", "TMP"):
        candidate = os.environ.get(name)
        if candidate is not None and check_tmpdir(candidate):
            return candidate
    return SYSTEM_DEFAULT_TMPDIR


def uniq_filename(tmp_dir: str, unit_id: int, prefix: str, suffix: str) -> str:
    """``<tmp>/<prefix>p<pid>u<id><suffix>``, with the pid of the calling process."""
    return f"{tmp_dir}/{prefix}p{os.getpid()}u{unit_id}{suffix}"


def unit_filename(tmp_dir: str, unit_id: int, suffix: str) -> str:
    """The name of a unit's ``.c``, ``.o`` or ``.so`` (COMPILE-2); a forked child's units
    carry the child's pid (FORK-4)."""
    return uniq_filename(tmp_dir, unit_id, TMP_PREFIX, suffix)


def pch_filename(tmp_dir: str) -> str:
    """The PCH name ``<tmp>/_ruby_mjit_hp<pid>u0.h.gch`` (PCH-6)."""
    return uniq_filename(tmp_dir, 0, TMP_PREFIX + "h", ".h.gch")


def open_exclusive(path: str) -> IO[str]:
    """Create ``path`` for writing, mode 0600, failing if anything exists at the name."""
    fd = os.open(path, _EXCLUSIVE_FLAGS, 0o600)
    try:
        return os.fdopen(fd, "w")
    except BaseException:
        os.close(fd)
        raise


def remove_file(path: str, log: Log) -> None:
    """Remove ``path``; a failure is a warning (C: ``remove_file``)."""
    try:
        os.remove(path)
    except OSError as exc:
        log.warning(f'failed to remove "{path}": {exc.strerror}')


def remove_if_exists(path: str) -> None:
    """Remove a file a failed step may have left, quietly."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError:
        pass
