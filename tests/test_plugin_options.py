"""The plugin's options: values, precedence (ini < env < cli) and the one-line errors."""

from __future__ import annotations

import re
import shutil

import pytest

pytest_plugins = ["pytester"]

PLAIN = "def test_ok():\n    pass\n"


def header(result) -> str:
    lines = [line for line in result.outlines if line.startswith("mjit: ")]
    assert len(lines) == 1, result.outlines
    return lines[0]


def field(result, name: str) -> str:
    match = re.search(rf"\b{name} (\S+?),", header(result) + ",")
    assert match, header(result)
    return match.group(1)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("ENGINE", "CC", "SEED", "PRESET", "REPORT", "EXPECT", "CLAUSES"):
        monkeypatch.delenv(f"PYTEST_MJIT_{name}", raising=False)


def test_header_names_engine_compiler_suite_seed(pytester):
    pytester.makepyfile(PLAIN)
    result = pytester.runpytest("--mjit-seed=42", "-p", "no:cacheprovider")
    line = header(result)
    assert line.startswith("mjit: engine ref: ")
    assert "suite 0.1.0" in line and "seed 42" in line and "preset default" in line
    cc = shutil.which("gcc") or shutil.which("clang")
    assert f"cc {cc} (" in line
    result.assert_outcomes(passed=1)


def test_precedence_ini_env_cli(pytester, monkeypatch):
    pytester.makepyfile(PLAIN)
    pytester.makeini("[pytest]\nmjit_seed = 1\nmjit_preset = quick\n")
    assert field(pytester.runpytest(), "seed") == "1"
    assert field(pytester.runpytest(), "preset") == "quick"
    monkeypatch.setenv("PYTEST_MJIT_SEED", "2")
    assert field(pytester.runpytest(), "seed") == "2"
    assert field(pytester.runpytest("--mjit-seed=3"), "seed") == "3"
    monkeypatch.setenv("PYTEST_MJIT_PRESET", "thorough")
    assert field(pytester.runpytest(), "preset") == "thorough"
    assert field(pytester.runpytest("--mjit-preset=default"), "preset") == "default"


def test_seed_is_random_by_default_and_last_replays(pytester):
    pytester.makepyfile(PLAIN)
    first = field(pytester.runpytest(), "seed")
    assert field(pytester.runpytest("--mjit-seed=last"), "seed") == first
    assert field(pytester.runpytest("--mjit-seed=0x10"), "seed") == "16"


def test_seed_fixes_hypothesis(pytester):
    pytester.makepyfile("""
        from hypothesis import given, strategies as st
        seen = []
        @given(st.integers())
        def test_draw(x):
            seen.append(x)
        def test_record():
            with open("draws.txt", "a") as f:
                f.write(repr(seen) + "\\n")
    """)
    pytester.runpytest("--mjit-seed=7", "-p", "no:randomly").assert_outcomes(passed=2)
    pytester.runpytest("--mjit-seed=7", "-p", "no:randomly").assert_outcomes(passed=2)
    one, two = (pytester.path / "draws.txt").read_text().splitlines()
    assert one == two


def test_preset_sets_hypothesis_examples_and_deadline_scale(pytester):
    pytester.makepyfile("""
        from hypothesis import settings
        from pytest_mjit.testing import scale
        def test_numbers():
            assert settings().max_examples == 10
            assert scale(1.0) == 1.0
    """)
    pytester.runpytest("--mjit-preset=quick").assert_outcomes(passed=1)


def test_compiler_choice_by_name(pytester):
    if shutil.which("clang") is None:
        pytest.skip("clang is not installed")
    pytester.makepyfile(PLAIN)
    assert f"cc {shutil.which('clang')} (" in header(pytester.runpytest("--mjit-cc=clang"))


@pytest.mark.parametrize("args, message", [
    (["--mjit-engine=nosuch"], "--mjit-engine=nosuch: no engine named 'nosuch' (installed "
     "engines: ref; or give 'package.module:factory')"),
    (["--mjit-engine=nosuch_mod_xyz:make"], "--mjit-engine=nosuch_mod_xyz:make: cannot import "
     "module 'nosuch_mod_xyz' (ModuleNotFoundError: No module named 'nosuch_mod_xyz')"),
    (["--mjit-cc=no-such-cc"], "--mjit-cc=no-such-cc: compiler not found (not on PATH and not "
     "an executable file)"),
    (["--mjit-cc=/bin/false"], "--mjit-cc=/bin/false: '/bin/false --version' failed; not a C "
     "compiler"),
    (["--mjit-seed=abc"], "--mjit-seed=abc: expected a non-negative integer or 'last'"),
    (["--mjit-seed=-4"], "--mjit-seed=-4: expected a non-negative integer or 'last'"),
    (["--mjit-preset=fast"],
     "--mjit-preset=fast: unknown preset (choose quick, default, thorough)"),
    (["--mjit-expect=missing.txt"], "--mjit-expect=missing.txt: cannot read (No such file or "
     "directory)"),
    (["--mjit-report=nodir/r.json"], "--mjit-report=nodir/r.json: cannot write (no directory "
     "'nodir')"),
    (["--mjit-report=."], "--mjit-report=.: cannot write (it is a directory)"),
    (["--mjit-clauses=ZZ-*"], "--mjit-clauses=ZZ-*: matches no clause id"),
])
def test_bad_values_fail_with_one_line(pytester, args, message):
    pytester.makepyfile(PLAIN)
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.errlines if line.strip()] == [f"ERROR: {message}"]
    assert "Traceback" not in result.stdout.str()


def test_seed_last_without_history(pytester):
    pytester.makepyfile(PLAIN)
    result = pytester.runpytest_subprocess("--mjit-seed=last", "-p", "no:cacheprovider")
    assert [line for line in result.errlines if line.strip()] == [
        "ERROR: --mjit-seed=last: no seed recorded by a previous run"]


def test_bad_env_value_fails_too(pytester, monkeypatch):
    pytester.makepyfile(PLAIN)
    monkeypatch.setenv("PYTEST_MJIT_PRESET", "huge")
    result = pytester.runpytest_subprocess()
    # The error names the variable the bad value came from.
    assert result.errlines[0] == "ERROR: PYTEST_MJIT_PRESET=huge: unknown preset (choose " \
                                 "quick, default, thorough)"


@pytest.mark.parametrize("text, message", [
    ("QUEUE-1\n", "--mjit-expect=exp.txt:1: expected 'CLAUSE-ID: reason'"),
    ("# ok\n\nNOPE-1: why\n", "--mjit-expect=exp.txt:3: unknown clause 'NOPE-1'"),
    ("GC-3: a\nGC-3: b\n", "--mjit-expect=exp.txt:2: clause GC-3 listed twice"),
])
def test_bad_expectation_file_lines(pytester, text, message):
    pytester.makepyfile(PLAIN)
    (pytester.path / "exp.txt").write_text(text)
    result = pytester.runpytest_subprocess("--mjit-expect=exp.txt")
    assert [line for line in result.errlines if line.strip()] == [f"ERROR: {message}"]


def test_help_lists_options_with_ini_and_env(pytester):
    result = pytester.runpytest("--help")
    out = result.stdout.str()
    for name in ("engine", "cc", "seed", "preset", "report", "expect", "clauses"):
        assert f"--mjit-{name}" in out
        assert f"PYTEST_MJIT_{name.upper()}" in out
