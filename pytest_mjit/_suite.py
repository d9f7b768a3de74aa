"""The identity of the certification suite: a sha256 over the installed ``conformance``
package files, and the value recorded for the released suite in ``conformance/SUITE_HASH``."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

__all__ = ["HASH_FILE", "suite_dir", "suite_files", "suite_hash", "recorded_hash",
           "write_recorded_hash"]

HASH_FILE = "SUITE_HASH"
#: Directories that tools create inside the suite when run from it; never part of it.
CACHE_DIRS = frozenset({"__pycache__", ".hypothesis", ".pytest_cache"})


def suite_dir() -> Path | None:
    """Directory of the installed ``conformance`` package, or None."""
    spec = importlib.util.find_spec("conformance")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def suite_files(root: Path) -> list[Path]:
    """The files that make up the suite (sources and data; no caches, not the hash file)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and not CACHE_DIRS & set(p.parts)
                  and p.name != HASH_FILE and p.suffix not in (".pyc", ".pyo"))


def suite_hash(root: Path | None = None) -> str | None:
    """sha256 over the suite's relative paths and contents, or None without a suite."""
    root = suite_dir() if root is None else root
    return None if root is None else _digest(root)


def _digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in suite_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def recorded_hash(root: Path | None = None) -> str | None:
    """The hash recorded for the released suite, or None."""
    root = suite_dir() if root is None else root
    try:
        return (root / HASH_FILE).read_text().strip() or None if root else None
    except OSError:
        return None


def write_recorded_hash(root: Path | None = None) -> str:
    """Record the current suite hash as the released one; return it."""
    root = suite_dir() if root is None else root
    if root is None:
        raise FileNotFoundError("the conformance package is not installed")
    value = _digest(root)
    (root / HASH_FILE).write_text(value + "\n")
    return value
