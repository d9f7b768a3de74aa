"""Random programs compiled by gcc and clang (with and without a PCH of the host header)
return exactly what the interpreter returns."""

from __future__ import annotations

import _ctypes
import ctypes
import itertools
import os
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_mjit import Options
from pytest_mjit.host import Host, write_header
from pytest_mjit.strategies import define_program, programs_with_arguments

# The flags an engine uses (mjit_worker.c's CC_COMMON_ARGS, CC_DLDFLAGS_ARGS, ...).
GCC_COMPILE = ["-O2", "-fPIC", "-shared", "-w", "-pipe", "-Wfatal-errors",
               "-nodefaultlibs", "-nostdlib"]
GCC_LINK = ["-O2", "-fPIC", "-shared", "-w", "-pipe", "-nostartfiles", "-nodefaultlibs",
            "-nostdlib"]
CLANG_COMPILE = ["-O2", "-fPIC", "-shared", "-w", "-pipe"]
CLANG_LINK = ["-O2", "-fPIC", "-shared", "-w", "-pipe", "-nostartfiles", "-nodefaultlibs",
              "-nostdlib"]

PROGRAMS_PER_EXAMPLE = 8
EXAMPLES = 30   # 240 programs per compiler and mode
_JIT_FUNC = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.POINTER(ctypes.c_int64))
_counter = itertools.count()


class CopyOnMainThread:
    """A stand-in for an engine's copy job: the test thread is the host's main thread, so
    it copies the caches directly."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def copy_cache_from_main_thread(self, iseq, cc_entries, is_entries) -> bool:
        self.host.copy_caches(iseq, cc_entries, is_entries)
        return True

    def valid_class_serial_p(self, serial: int) -> bool:
        return True


class Toolchain:
    """One compiler in one mode: how to prefix a unit and compile/link it to a .so."""

    def __init__(self, cc: str, family: str, pch: str | None, header: str, workdir: str):
        self.cc, self.family, self.pch, self.header, self.workdir = cc, family, pch, header, workdir

    def prelude(self) -> str:
        if self.family == "clang" and self.pch:
            return ""
        # gcc with a PCH includes the PCH's name without ".gch"; that file does not exist.
        target = self.pch[: -len(".gch")] if self.pch else self.header
        escaped = target.replace("\\", "\\\\").replace('"', '\\"')
        return f'#include "{escaped}"\n'

    def build(self, c_file: str) -> str:
        o_file, so_file = c_file[:-2] + ".o", c_file[:-2] + ".so"
        compile_flags = GCC_COMPILE if self.family == "gcc" else CLANG_COMPILE
        link_flags = GCC_LINK if self.family == "gcc" else CLANG_LINK
        extra = ["-include-pch", self.pch] if self.family == "clang" and self.pch else []
        _run([self.cc, *compile_flags, *extra, "-o", o_file, "-c", c_file])
        _run([self.cc, *link_flags, "-o", so_file, o_file, "-lgcc"])
        return so_file


def _run(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{' '.join(argv)} failed:\n{proc.stderr}"


def _build_pch(cc: str, family: str, header: str, directory: str) -> str:
    os.makedirs(directory)
    pch = os.path.join(directory, "_ruby_mjit_hp1u0.h.gch")
    lang = ["-x", "c-header"] if family == "clang" else []
    flags = GCC_COMPILE if family == "gcc" else CLANG_COMPILE
    _run([cc, *[f for f in flags if f != "-shared"], *lang, "-o", pch, header])
    return pch


@pytest.fixture(scope="module")
def toolchains(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("differential"))
    header = write_header(workdir)
    chains = []
    for cc, family in (("gcc", "gcc"), ("clang", "clang")):
        if shutil.which(cc) is None:
            pytest.skip(f"{cc} is not installed")
        pch = _build_pch(cc, family, header, os.path.join(workdir, f"pch_{family}"))
        chains += [Toolchain(cc, family, pch, header, workdir),
                   Toolchain(cc, family, None, header, workdir)]
    yield chains
    shutil.rmtree(workdir, ignore_errors=True)


def _call_all(so_file: str, names: list[str], runs: list[list[tuple[int, ...]]]) -> list:
    lib = ctypes.CDLL(so_file, mode=os.RTLD_NOW)
    try:
        results = []
        for name, arg_sets in zip(names, runs, strict=True):
            fn = _JIT_FUNC(ctypes.cast(getattr(lib, name), ctypes.c_void_p).value)
            results.append([fn((ctypes.c_int64 * max(1, len(a)))(*a)) for a in arg_sets])
        return results
    finally:
        _ctypes.dlclose(lib._handle)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(batch=st.lists(programs_with_arguments(), min_size=PROGRAMS_PER_EXAMPLE,
                      max_size=PROGRAMS_PER_EXAMPLE))
def test_compiled_code_matches_the_interpreter(toolchains, batch):
    header = toolchains[0].header
    with Host(Options(cc="gcc", cc_family="gcc"), header_file=header) as host:
        engine = CopyOnMainThread(host)
        names, runs, expected, units = [], [], [], []
        for index, (spec, arg_sets) in enumerate(batch):
            entry = define_program(host, spec, prefix=f"p{index}_")[-1]
            name = f"_mjit{index}"
            chunk = _Chunk()
            assert host.generate_code(chunk, entry, name, None, engine)
            units.append(chunk.text())
            names.append(name)
            runs.append(arg_sets)
            expected.append([host.interpret(entry, *a) for a in arg_sets])
        assert host.violations == []
    body = "".join(units)
    serial = next(_counter)
    for chain in toolchains:
        c_file = os.path.join(chain.workdir, f"batch{serial}_{chain.family}"
                              f"{'_pch' if chain.pch else ''}.c")
        with open(c_file, "w") as f:
            f.write(chain.prelude() + body)
        try:
            got = _call_all(chain.build(c_file), names, runs)
        finally:
            for suffix in (".c", ".o", ".so"):
                if os.path.exists(c_file[:-2] + suffix):
                    os.unlink(c_file[:-2] + suffix)
        assert got == expected, f"{chain.family} (pch={bool(chain.pch)}) disagrees"


class _Chunk:
    """A minimal text sink for ``generate_code`` (it only calls ``write``)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def text(self) -> str:
        return "".join(self.parts)


def test_units_link_without_libc(toolchains, tmp_path):
    """A compiled unit needs no shared library at all (it links with -nostdlib)."""
    if shutil.which("readelf") is None:
        pytest.skip("readelf is not installed")
    with Host(Options(cc="gcc", cc_family="gcc"), header_file=toolchains[0].header) as host:
        f = host.define("f", [("arg", 0), ("push", 3), ("mul", ), ("ret", )], argc=1)
        chunk = _Chunk()
        assert host.generate_code(chunk, f, "_mjit1", None, CopyOnMainThread(host))
    for chain in toolchains:
        c_file = str(tmp_path / f"u_{chain.family}{'_pch' if chain.pch else ''}.c")
        with open(c_file, "w") as out:
            out.write(chain.prelude() + chunk.text())
        so_file = chain.build(c_file)
        dynamic = subprocess.run(["readelf", "-d", so_file], capture_output=True, text=True).stdout
        assert "NEEDED" not in dynamic, f"{chain.family}: {dynamic}"
        assert _call_all(so_file, ["_mjit1"], [[(7,)]]) == [[21]]
