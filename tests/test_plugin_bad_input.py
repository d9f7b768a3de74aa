"""Bad input is one clear error at start-up, naming where the value came from: replay blobs, a
compiler that cannot compile, options from the environment and the ini file; and the harness
copes with odd but valid surroundings (a newline in the tmp path, caches inside the suite, a
compiler whose --version hangs in a child)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import sys

import _ctypes
import hypothesis
import pytest

from pytest_mjit import _config, _options, _suite
from pytest_mjit import MjitError
from pytest_mjit.testing import DeadlineExceeded, mapped_libraries, wait_for

pytest_plugins = ["pytester"]

HARNESS_TESTS = """
import pytest

@pytest.mark.parametrize("n", range(3))
def test_uses_compiler(n, mjit_cc):
    pass
"""


def errors(result) -> list[str]:
    return [line for line in result.errlines if line]


@pytest.mark.parametrize("value, error", [
    ("garbage", "--mjit-replay=garbage: expected VERSION:BLOB as printed in a protocol "
                "machine's failure report"),
    (f"{hypothesis.__version__}:AEEBQQ", f"--mjit-replay={hypothesis.__version__}:AEEBQQ: the "
     "blob is damaged (cannot decode it; copy the whole line from the failure report)"),
    ("1.0:AEEBQQIB", f"--mjit-replay=1.0:AEEBQQIB: made by Hypothesis 1.0, this is Hypothesis "
                     f"{hypothesis.__version__}"),
])
def test_bad_replay_is_a_start_up_error(pytester, value, error):
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest(f"--mjit-replay={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert errors(result) == [f"ERROR: {error}"]


def test_bad_replay_from_the_environment_names_the_variable(pytester, monkeypatch):
    pytester.makepyfile("def test_x():\n    pass\n")
    monkeypatch.setenv("PYTEST_MJIT_REPLAY", "garbage")
    result = pytester.runpytest()
    assert errors(result)[0].startswith("ERROR: PYTEST_MJIT_REPLAY=garbage: expected VERSION:BLOB")


FAILING_CC = """#!/bin/sh
if [ "$1" = --version ]; then echo "gcc (broken) 1.0"; exit 0; fi
echo "broken: cannot compile anything" >&2
exit 1
"""


def broken_compiler(directory, name: str) -> str:
    path = directory / name
    path.write_text(FAILING_CC)
    path.chmod(0o755)
    return str(path)


def test_chosen_compiler_that_cannot_compile_is_one_start_up_error(pytester):
    cc = broken_compiler(pytester.path, "brokencc")
    pytester.makepyfile(HARNESS_TESTS)
    result = pytester.runpytest(f"--mjit-cc={cc}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert errors(result) == [f"ERROR: --mjit-cc={cc}: cannot build the compiler shim with "
                              f"{cc}: broken: cannot compile anything"]


def test_default_compiler_that_cannot_compile_stops_the_run_at_once(pytester, monkeypatch):
    bin_dir = pytester.mkdir("bin")
    broken_compiler(bin_dir, "gcc")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    pytester.makepyfile(HARNESS_TESTS)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*Interrupted: cannot build the compiler shim with *gcc: "
                                 "broken: cannot compile anything*"])


@pytest.mark.parametrize("where, error", [
    ("env", "ERROR: PYTEST_MJIT_SEED=abc: expected a non-negative integer or 'last'"),
    ("ini", "ERROR: ini mjit_seed=abc: expected a non-negative integer or 'last'"),
])
def test_errors_name_the_variable_or_ini_key(pytester, monkeypatch, where, error):
    pytester.makepyfile("def test_x():\n    pass\n")
    if where == "env":
        monkeypatch.setenv("PYTEST_MJIT_SEED", "abc")
    else:
        pytester.makeini("[pytest]\nmjit_seed = abc\n")
    assert errors(pytester.runpytest()) == [error]


def test_ini_paths_are_relative_to_the_ini_file(pytester, monkeypatch):
    pytester.makeini("[pytest]\nmjit_report = out/report.json\nmjit_expect = expect.txt\n"
                     "mjit_example_db = examples\n")
    (pytester.path / "out").mkdir()
    (pytester.path / "expect.txt").write_text("GC-3: known\n")
    pytester.makepyfile("""
        import pytest
        @pytest.mark.mjit_clause("QUEUE-1")
        def test_x():
            pass
    """)
    monkeypatch.chdir(pytester.mkdir("elsewhere"))
    result = pytester.runpytest(str(pytester.path), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert (pytester.path / "out/report.json").exists()
    # the example database is made beside the ini file, not in the working directory
    assert (pytester.path / "examples").is_dir()
    assert not (pytester.path / "elsewhere" / "examples").exists()


def test_maps_paths_with_a_newline_are_decoded(tmp_path):
    directory = tmp_path / "tmp\nwith newline"
    directory.mkdir()
    (directory / "lib.c").write_text("int answer(void) { return 42; }\n")
    lib = directory / "lib.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(lib), str(directory / "lib.c")],
                   check=True)
    handle = ctypes.CDLL(str(lib))
    try:
        assert handle.answer() == 42
        assert str(lib) in {m.path for m in mapped_libraries()}
    finally:
        _ctypes.dlclose(handle._handle)
    assert str(lib) not in {m.path for m in mapped_libraries()}


def test_caches_inside_the_suite_leave_its_hash_alone(tmp_path):
    (tmp_path / "test_a.py").write_text("def test_a():\n    pass\n")
    before = _suite.suite_hash(tmp_path)
    for cache in (".hypothesis/examples/x", ".pytest_cache/v/cache/lastfailed"):
        (tmp_path / cache).parent.mkdir(parents=True)
        (tmp_path / cache).write_text("{}")
    assert _suite.suite_hash(tmp_path) == before
    (tmp_path / "test_b.py").write_text("")
    assert _suite.suite_hash(tmp_path) != before


def test_version_probe_that_times_out_kills_the_whole_group(tmp_path, monkeypatch):
    pid_file = tmp_path / "child.pid"
    cc = tmp_path / "slowcc"
    cc.write_text(f"#!/bin/sh\nsleep 1000 &\necho $! > {pid_file}\nsleep 1000\n")
    cc.chmod(0o755)
    monkeypatch.setattr(_options, "VERSION_TIMEOUT", 0.5)
    with pytest.raises(MjitError, match=r"'.*slowcc --version' did not answer within 0.5s"):
        _config.find_compiler(str(cc))
    child = int(pid_file.read_text())

    def state() -> str:
        try:
            with open(f"/proc/{child}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return "gone"
    # SIGKILL is delivered at once but takes effect when the child next runs: give a loaded
    # machine a bounded moment to let it die.
    with contextlib.suppress(DeadlineExceeded):     # the assert below says what is left
        wait_for(lambda: state() in ("gone", "Z"), 5.0, f"the compiler's child {child} to die",
                 poll=0.01)
    assert state() in ("gone", "Z"), f"the compiler's child {child} survived ({state()})"
    assert sys.platform.startswith("linux")
