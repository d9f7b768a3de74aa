"""The host header: freestanding, written where asked, and usable as a gcc or clang PCH."""

from __future__ import annotations

import _ctypes
import ctypes
import os
import shutil
import subprocess

import pytest

from pytest_mjit import MjitError, Options
from pytest_mjit.host import HEADER_NAME, Host, header_text, write_header

OPTIONS = Options(cc="gcc", cc_family="gcc")
UNIT = "int64_t _mjit1(int64_t *args) { return mjit_wrap_mul(args[0], MJIT_I64(3)); }\n"


def test_the_header_is_freestanding_and_large_enough_for_a_pch():
    text = header_text()
    assert "#include" not in text
    assert text.count("\n") > 2000
    assert "mjit_wrap_add" in text and "typedef __INT64_TYPE__ int64_t;" in text


def test_write_header_writes_one_h_file(tmp_path):
    path = write_header(tmp_path)
    assert path == str(tmp_path / HEADER_NAME) and path.endswith(".h")
    assert os.listdir(tmp_path) == [HEADER_NAME]
    with open(path) as f:
        assert f.read() == header_text()


def test_a_host_without_a_header_keeps_a_private_one_until_closed():
    host = Host(OPTIONS)
    directory = os.path.dirname(host.header_file)
    assert os.path.basename(directory).startswith("pytest_mjit_host_")
    assert os.path.isfile(host.header_file)
    host.close()
    host.close()
    assert not os.path.exists(directory)


def test_a_given_header_is_used_and_kept(tmp_path):
    path = write_header(tmp_path)
    with Host(OPTIONS, header_file=path) as host:
        assert host.header_file == path
    assert os.path.isfile(path)
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(MjitError, match=r"existing '\*\.h' file"):
        Host(OPTIONS, header_file=str(tmp_path / "x.txt"))
    with pytest.raises(MjitError, match=r"needs a pytest_mjit\.Options"):
        Host({"cc": "gcc"})


def _run(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc


def _call(so_file: str) -> int:
    lib = ctypes.CDLL(so_file, mode=os.RTLD_NOW)
    try:
        fn = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.POINTER(ctypes.c_int64))(
            ctypes.cast(lib._mjit1, ctypes.c_void_p).value)
        return fn((ctypes.c_int64 * 1)(14))
    finally:
        _ctypes.dlclose(lib._handle)


def _gcc_pch(header: str, pch: str) -> None:
    _run(["gcc", "-O2", "-fPIC", "-w", "-pipe", "-nodefaultlibs", "-nostdlib", "-o", pch, header])


def test_gcc_uses_the_pch_when_only_the_gch_exists(tmp_path):
    """The engine includes the PCH's name without .gch; gcc must find the .gch alone."""
    workdir = tmp_path / "pch"
    workdir.mkdir()
    pch = str(workdir / "_ruby_mjit_hp1u0.h.gch")
    _gcc_pch(write_header(tmp_path), pch)
    c_file = workdir / "unit.c"
    c_file.write_text(f'#include "{pch[:-4]}"\n{UNIT}')
    o_file, so_file = str(workdir / "unit.o"), str(workdir / "unit.so")
    proc = _run(["gcc", "-O2", "-fPIC", "-shared", "-w", "-pipe", "-Wfatal-errors",
                 "-nodefaultlibs", "-nostdlib", "-H", "-c", str(c_file), "-o", o_file])
    assert proc.stderr.startswith("! ")   # "!" marks a valid PCH that was used
    _run(["gcc", "-shared", "-fPIC", "-nostartfiles", "-nodefaultlibs", "-nostdlib",
          "-o", so_file, o_file, "-lgcc"])
    assert _call(so_file) == 42


def test_gcc_takes_include_names_literally(tmp_path):
    """Evidence for PCH-7: gcc reads no escapes in a quoted #include, so a backslash in the
    tmp dir works written as is and fails escaped as the C escapes it."""
    workdir = tmp_path / "back\\slash"
    workdir.mkdir()
    pch = str(workdir / "h.h.gch")
    _gcc_pch(write_header(tmp_path), pch)
    results = {}
    for style, name in (("raw", pch[:-4]), ("escaped", pch[:-4].replace("\\", "\\\\"))):
        c_file = workdir / f"{style}.c"
        c_file.write_text(f'#include "{name}"\n{UNIT}')
        proc = subprocess.run(["gcc", "-O2", "-fPIC", "-w", "-pipe", "-nodefaultlibs", "-nostdlib",
                               "-c", str(c_file), "-o", str(c_file) + ".o"],
                              capture_output=True, timeout=120)
        results[style] = proc.returncode == 0
    assert results == {"raw": True, "escaped": False}


@pytest.mark.parametrize("emit", [["-x", "c-header"], ["-Xclang", "-emit-pch"]])
def test_clang_builds_and_uses_the_pch(tmp_path, emit):
    if shutil.which("clang") is None:
        pytest.skip("clang is not installed")
    pch = str(tmp_path / "_ruby_mjit_hp1u0.h.gch")
    _run(["clang", "-O2", "-fPIC", "-w", "-pipe", *emit, "-o", pch, write_header(tmp_path)])
    c_file = tmp_path / "unit.c"
    c_file.write_text(UNIT)
    so_file = str(tmp_path / "unit.so")
    _run(["clang", "-O2", "-fPIC", "-shared", "-w", "-pipe", "-include-pch", pch,
          "-nostartfiles", "-nodefaultlibs", "-nostdlib", "-o", so_file, str(c_file)])
    assert _call(so_file) == 42
