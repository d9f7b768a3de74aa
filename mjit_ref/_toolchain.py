"""Compiler argument lists (as mjit_worker.c forms them) and running the compiler."""

from __future__ import annotations

import shutil
import subprocess
import sys
from typing import Sequence

from ._log import Log

# What CRuby's configure puts in mjit_config.h on Linux, for either family:
# MJIT_CC_COMMON is the compiler, MJIT_CFLAGS "-w", MJIT_LDSHARED "<cc> -shared".
CFLAGS = ("-w",)
OPTIMIZE_ARGS = ("-O2",)
DEBUG_ARGS = ("-O0", "-g")
DLDFLAGS_ARGS: tuple[str, ...] = ()

# GCC_PIC_FLAGS: the C defines them for gcc, and for clang on glibc (Linux).
GCC_PIC_FLAGS = ("-Wfatal-errors", "-fPIC", "-shared", "-w", "-pipe")
# gcc only (the C's `__GNUC__ && !__clang__` branches).
GCC_NOSTDLIB_FLAGS = ("-nodefaultlibs", "-nostdlib")
GCC_LINKER_ARGS = ("-nostartfiles",) + GCC_NOSTDLIB_FLAGS
GCC_LIBS = ("-lgcc",)

#: clang 14 refuses the C's bare ``-emit-pch`` together with ``-o``; the cc1 flag works.
CLANG_EMIT_PCH = ("-Xclang", "-emit-pch")


class Toolchain:
    """Forms the argv of the PCH build, the ``.c -> .o`` compile and the ``.o -> .so`` link,
    and runs them (C: ``make_pch``, ``compile_c_to_o``, ``link_o_to_so``, ``exec_process``)."""

    def __init__(self, cc: str, family: str | None, debug: bool,
                 debug_flags: Sequence[str], log: Log) -> None:
        self.cc_path = shutil.which(cc) or cc
        # A compiler that could not be identified is treated as gcc (its PCH then fails).
        self.family = family or "gcc"
        self.log = log
        gcc = self.family == "gcc"
        self.common_args = (self.cc_path,) + CFLAGS + GCC_PIC_FLAGS
        # OPT-3: debug flags replace the optimisation flags; debug_flags go to the header
        # build and to every unit compile (pch_argv, compile_argv), not to the link.
        self.codeflag_args = DEBUG_ARGS if debug else OPTIMIZE_ARGS
        self.added_args = tuple(debug_flags)
        self.ldshared_args = (self.cc_path, "-shared") + GCC_PIC_FLAGS
        self.linker_args = GCC_LINKER_ARGS if gcc else ()
        self.nostdlib_args = GCC_NOSTDLIB_FLAGS if gcc else ()
        self.libs = GCC_LIBS if gcc else ()

    @property
    def uses_include_pch(self) -> bool:
        """clang takes the PCH with ``-include-pch``; gcc finds it through the prelude."""
        return self.family == "clang"

    def pch_argv(self, header_file: str, pch_file: str) -> list[str]:
        """argv building the precompiled header."""
        emit = CLANG_EMIT_PCH if self.family == "clang" else ()
        rest = emit + self.nostdlib_args + ("-o", pch_file, header_file)
        return [*self.common_args, *self.codeflag_args, *self.added_args, *rest]

    def compile_argv(self, c_file: str, o_file: str, pch_file: str) -> list[str]:
        """argv compiling ``c_file`` to ``o_file`` (clang takes the PCH here, PCH-2)."""
        files = ["-o", o_file, c_file]
        if self.uses_include_pch:
            files += ["-include-pch", pch_file]
        files.append("-c")
        return [*self.common_args, *self.codeflag_args, *self.added_args, *files,
                *self.linker_args]

    def link_argv(self, o_files: Sequence[str], so_file: str) -> list[str]:
        """argv linking ``o_files`` into ``so_file``."""
        return [*self.ldshared_args, *self.codeflag_args, "-o", so_file, *o_files,
                *self.libs, *DLDFLAGS_ARGS, *self.linker_args]

    def make_pch(self, header_file: str, pch_file: str) -> bool:
        return self.exec_process(self.pch_argv(header_file, pch_file)) == 0

    def compile_c_to_o(self, c_file: str, o_file: str, pch_file: str) -> bool:
        code = self.exec_process(self.compile_argv(c_file, o_file, pch_file))
        if code != 0:
            self.log.verbose(2, f"compile_c_to_o: compile error: {code}")
        return code == 0

    def link_o_to_so(self, o_files: Sequence[str], so_file: str) -> bool:
        code = self.exec_process(self.link_argv(o_files, so_file))
        if code != 0:
            self.log.verbose(2, f"link_o_to_so: link error: {code}")
        return code == 0

    def exec_process(self, argv: Sequence[str]) -> int:
        """Run ``argv`` to completion: its exit code, -1 if a signal ended it (a failed step,
        FAULT-2), -2 if it could not be started (a missing compiler fails the header build
        only, FAULT-4).  The process is always reaped."""
        if self.log.level >= 2:
            sys.stderr.write("Starting process: " + " ".join([self.cc_path, *argv]) + "\n")
        quiet = self.log.level == 0
        sink = subprocess.DEVNULL if quiet else None
        try:
            proc = subprocess.Popen(
                list(argv), executable=self.cc_path, stdin=subprocess.DEVNULL,
                stdout=sink, stderr=sink, umask=0o077, close_fds=True)
        except OSError as exc:
            self.log.verbose(1, f"MJIT: Error in execv: {self.cc_path} ({exc.strerror})")
            return -2
        try:
            code = proc.wait()
        finally:
            # COMPILE-5: never leave a child behind, even if the wait was interrupted.
            if proc.returncode is None:
                proc.kill()
                proc.wait()
        return -1 if code < 0 else code
