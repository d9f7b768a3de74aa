"""Compiler command lines for gcc and clang, and running one compiler process: spawned with
``os.posix_spawn``, waited for through a pidfd with a deadline, always reaped."""

from __future__ import annotations

import os
import select
import shutil
import signal
import time
from pathlib import Path
from typing import Sequence

__all__ = ["Toolchain", "COMPILER_PATIENCE"]

#: Seconds one compiler run may take before it is killed and counted as a failure.
COMPILER_PATIENCE = 600.0

_COMMON = ("-fPIC", "-shared", "-w", "-pipe", "-Wfatal-errors")   # COMPILE-7
_OPTIMISE = ("-O2",)
_DEBUG = ("-O0", "-g")
_NO_LIBS = ("-nodefaultlibs", "-nostdlib")


class Toolchain:
    """The command lines of one engine (its Options) and a runner for them."""

    def __init__(self, options) -> None:
        self.family = options.cc_family or "gcc"
        self.executable = shutil.which(options.cc)   # None: every run fails (FAULT-4)
        level = _DEBUG if options.debug else _OPTIMISE   # OPT-3
        # The PCH and the units must agree on every flag that changes the language mode,
        # so all three command kinds share this prefix.
        self.flags = [*_COMMON, *level, *options.debug_flags]
        self.quiet = options.verbose == 0                  # COMPILE-6

    def pch_argv(self, header: str, pch: Path) -> list[str]:
        """Build the precompiled header from the host's header.  ``-x c-header`` makes both
        gcc and clang emit a PCH (clang 14 refuses a bare ``-emit-pch`` with ``-o``)."""
        return [self._cc(), *self.flags, *_NO_LIBS, "-x", "c-header", header, "-o", str(pch)]

    def compile_argv(self, source: Path, obj: Path, pch: Path) -> list[str]:
        """``.c -> .o``; clang is handed the PCH, gcc finds it through the prelude (PCH-2)."""
        use_pch = ["-include-pch", str(pch)] if self.family == "clang" else []
        return [self._cc(), *self.flags, *_NO_LIBS, *use_pch, "-c", "-o", str(obj), str(source)]

    def link_argv(self, objects: Sequence[Path], library: Path) -> list[str]:
        """``.o`` files -> one ``.so``."""
        return [self._cc(), *self.flags, "-nostartfiles", "-o", str(library),
                *map(str, objects), "-lgcc"]

    def _cc(self) -> str:
        return self.executable or "cc-not-found"

    def run(self, argv: list[str]) -> bool:
        """Run one compiler process to its end; True when it exited 0.  A missing compiler,
        a non-zero exit, a death by signal and an overrun all count as failure (FAULT-2)."""
        if self.executable is None:
            return False
        actions: list[tuple] = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)]
        if self.quiet:
            actions += [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                        (os.POSIX_SPAWN_DUP2, 1, 2)]
        try:
            pid = os.posix_spawn(self.executable, argv, os.environ, file_actions=actions)
        except OSError:
            return False
        return _reap(pid, COMPILER_PATIENCE) == 0


def _reap(pid: int, patience: float) -> int | None:
    """Wait for ``pid`` (killing it past ``patience`` seconds) and return its exit code,
    negative for a signal.  The process is reaped on every path (COMPILE-5)."""
    deadline = time.monotonic() + patience
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        pidfd = None
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return None
            if pidfd is not None:
                select.select([pidfd], [], [], min(left, 1.0))
            else:
                time.sleep(min(left, 0.002))
    finally:
        if pidfd is not None:
            os.close(pidfd)
