"""Engine options: the part of CRuby's ``mjit_options`` that the protocol depends on."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
from typing import Any

from ._errors import MjitError

__all__ = ["Options", "DEFAULT_MAX_CACHE_SIZE", "DEFAULT_MIN_CALLS", "MIN_CACHE_SIZE",
           "detect_cc_family", "run_version"]

# mjit.c: DEFAULT_MAX_CACHE_SIZE, MIN_CACHE_SIZE, DEFAULT_MIN_CALLS_TO_ADD.
DEFAULT_MAX_CACHE_SIZE = 100
MIN_CACHE_SIZE = 10
DEFAULT_MIN_CALLS = 10000
CC_FAMILIES = ("gcc", "clang")
#: Seconds a compiler gets to answer ``--version``.
VERSION_TIMEOUT = 30.0


def run_version(path: str) -> subprocess.CompletedProcess:
    """``path --version`` in a process group of its own; on timeout the whole group is killed
    (a wrapper's children too) and ``subprocess.TimeoutExpired`` raised."""
    proc = subprocess.Popen([path, "--version"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=VERSION_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def detect_cc_family(cc: str) -> str | None:
    """Return ``"clang"`` or ``"gcc"`` from ``cc --version``, or None when cc cannot be run."""
    path = shutil.which(cc)
    if path is None:
        return None
    try:
        out = run_version(path).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    first = out.splitlines()[0] if out else ""
    return "clang" if "clang" in first.lower() else "gcc"


def _check(cond: bool, field: str, value: Any, why: str) -> None:
    if not cond:
        raise MjitError(f"invalid Options.{field}={value!r}: {why}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclasses.dataclass(frozen=True)
class Options:
    """What an engine is configured with; frozen, validated and normalised at construction.

    ``max_cache_size`` and ``min_calls`` are normalised as ``mjit_init`` does (OPT-1):
    a cache size <= 0 means 100 and one below 10 means 10; ``min_calls`` 0 means 10000.
    ``cc_family`` is detected from ``cc --version`` when not given; it stays None if the
    compiler cannot be run (the engine then fails its PCH build, FAULT-4).
    ``tmp_dir`` None lets the engine choose as CRuby does (TMPDIR, TMP, system default).
    """

    cc: str = "gcc"
    cc_family: str | None = None
    debug: bool = False
    debug_flags: tuple[str, ...] = ()
    save_temps: bool = False
    wait: bool = False
    wait_timeout: float = 60.0
    verbose: int = 0
    warnings: bool = False
    max_cache_size: int = DEFAULT_MAX_CACHE_SIZE
    min_calls: int = DEFAULT_MIN_CALLS
    tmp_dir: str | None = None

    def __post_init__(self) -> None:
        _check(isinstance(self.cc, (str, os.PathLike)) and str(self.cc) != "", "cc", self.cc,
               "expected a compiler name or path")
        if isinstance(self.cc, os.PathLike):
            object.__setattr__(self, "cc", os.fspath(self.cc))
        _check(self.cc_family is None or self.cc_family in CC_FAMILIES, "cc_family",
               self.cc_family, "expected 'gcc', 'clang' or None")
        for name in ("debug", "save_temps", "wait", "warnings"):
            _check(isinstance(getattr(self, name), bool), name, getattr(self, name),
                   "expected True or False")
        flags = self.debug_flags
        if isinstance(flags, str):
            flags = tuple(flags.split())
        _check(isinstance(flags, (tuple, list)) and all(isinstance(f, str) for f in flags),
               "debug_flags", self.debug_flags, "expected a sequence of strings")
        object.__setattr__(self, "debug_flags", tuple(flags))
        _check(isinstance(self.wait_timeout, (int, float))
               and not isinstance(self.wait_timeout, bool) and self.wait_timeout > 0,
               "wait_timeout", self.wait_timeout, "expected a positive number of seconds")
        _check(_is_int(self.verbose) and self.verbose >= 0, "verbose", self.verbose,
               "expected an integer >= 0")
        _check(_is_int(self.max_cache_size), "max_cache_size", self.max_cache_size,
               "expected an integer")
        _check(_is_int(self.min_calls) and self.min_calls >= 0, "min_calls", self.min_calls,
               "expected an integer >= 0")
        _check(self.tmp_dir is None or (isinstance(self.tmp_dir, (str, os.PathLike))
                                        and str(self.tmp_dir) != ""),
               "tmp_dir", self.tmp_dir, "expected a directory path or None")
        if self.tmp_dir is not None:
            object.__setattr__(self, "tmp_dir", os.fspath(self.tmp_dir))
        # OPT-1: normalised exactly as mjit_init does.
        size = self.max_cache_size
        if size <= 0:
            size = DEFAULT_MAX_CACHE_SIZE
        if size < MIN_CACHE_SIZE:
            size = MIN_CACHE_SIZE
        object.__setattr__(self, "max_cache_size", size)
        if self.min_calls == 0:
            object.__setattr__(self, "min_calls", DEFAULT_MIN_CALLS)
        if self.cc_family is None:
            object.__setattr__(self, "cc_family", detect_cc_family(self.cc))

    def replace(self, **changes: Any) -> "Options":
        """A copy with ``changes`` applied and validated again (``cc_family`` is re-detected
        when ``cc`` changes and no family is given)."""
        if "cc" in changes and "cc_family" not in changes:
            changes["cc_family"] = None
        return dataclasses.replace(self, **changes)
