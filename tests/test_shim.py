"""The compiler shim with the real compiler: pass-through, log, and every rule."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest

from pytest_mjit import MjitError
from pytest_mjit._shim import CompilerShim, build_shim, parse_log

REAL = shutil.which("gcc") or shutil.which("clang")
pytestmark = pytest.mark.skipif(REAL is None, reason="no C compiler")


@pytest.fixture(scope="module")
def shim_binary(tmp_path_factory):
    return build_shim(REAL, tmp_path_factory.mktemp("shimbin"))


@pytest.fixture
def shim(shim_binary, tmp_path):
    s = CompilerShim(shim_binary, tmp_path / "ctl", REAL, "gcc")
    yield s
    s.release_all()
    s.wait_idle(10)


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "unit.c"
    src.write_text("long f(long x) { return x + 1; }\n")
    return src


def run(shim, *args, **kw):
    return subprocess.run([shim.path, *map(str, args)], capture_output=True, timeout=60, **kw)


def test_build_is_cached(shim_binary, tmp_path):
    assert build_shim(REAL, shim_binary.parent) == shim_binary


def test_pass_through_compiles_and_logs(shim, source, tmp_path):
    obj = tmp_path / "unit.o"
    proc = run(shim, "-c", source, "-o", obj)
    assert proc.returncode == 0, proc.stderr
    assert obj.exists()
    (inv,) = shim.invocations()
    assert inv.seq == 1 and inv.kind == "compile" and inv.action == "run" and inv.rule is None
    assert inv.argv[1:] == ("-c", str(source), "-o", str(obj))
    assert inv.ok and inv.exit == 0 and inv.signal is None and not inv.running
    assert inv.start <= inv.end <= time.monotonic()
    assert inv.output == str(obj)


def test_real_compiler_failure_status_is_forwarded(shim, tmp_path):
    bad = tmp_path / "bad.c"
    bad.write_text("this is not C\n")
    proc = run(shim, "-c", bad, "-o", tmp_path / "bad.o")
    assert proc.returncode == 1
    assert shim.invocations()[0].exit == 1


def test_kinds(shim, source, tmp_path):
    hdr = tmp_path / "h.h"
    hdr.write_text("int g(void);\n")
    run(shim, "-x", "c-header", hdr, "-o", tmp_path / "h.h.gch")
    run(shim, "-c", source, "-o", tmp_path / "u.o")
    run(shim, "-shared", "-o", tmp_path / "u.so", tmp_path / "u.o")
    assert [i.kind for i in shim.invocations()] == ["pch", "compile", "link"]


def test_fail_rule_by_kind_does_not_run_compiler(shim, source, tmp_path):
    rid = shim.fail(kind="compile")
    proc = run(shim, "-c", source, "-o", tmp_path / "u.o")
    assert proc.returncode == 1 and not (tmp_path / "u.o").exists()
    assert run(shim, "--version").returncode == 0
    first, second = shim.invocations()
    assert (first.action, first.rule, first.exit) == ("fail", rid, 1)
    assert (second.action, second.kind) == ("run", "link")


def test_rules_apply_only_to_the_arming_process(shim, source, tmp_path):
    """A forked child of the process that armed a rule runs its compiler untouched."""
    shim.fail(kind="compile")
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            code = run(shim, "-c", source, "-o", tmp_path / "child.o").returncode
        finally:
            os._exit(code if 0 <= code < 256 else 99)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and (tmp_path / "child.o").exists()
    assert run(shim, "-c", source, "-o", tmp_path / "parent.o").returncode == 1
    child, parent = shim.invocations()
    assert (child.action, parent.action) == ("run", "fail")


def test_crash_rule_dies_by_signal(shim, source, tmp_path):
    shim.crash(match="unit.c", signal=signal.SIGKILL)
    proc = run(shim, "-c", source, "-o", tmp_path / "u.o")
    assert proc.returncode == -signal.SIGKILL
    assert shim.invocations()[0].signal == signal.SIGKILL


def test_crash_default_is_sigsegv(shim, source, tmp_path):
    shim.crash()
    assert run(shim, "-c", source).returncode == -signal.SIGSEGV


def test_nth_match_only(shim, source, tmp_path):
    shim.fail(kind="compile", nth=2)
    codes = [run(shim, "-c", source, "-o", tmp_path / f"u{i}.o").returncode for i in range(3)]
    assert codes == [0, 1, 0]


def test_objects_match_only_links_of_that_many_object_files(shim, source, tmp_path):
    """``objects=2`` fails a compaction's link (several .o files), not one unit's."""
    shim.fail(kind="link", objects=2)
    objs = [tmp_path / f"u{i}.o" for i in range(2)]
    for i, obj in enumerate(objs):
        other = tmp_path / f"unit{i}.c"
        other.write_text(f"long f{i}(long x) {{ return x + {i}; }}\n")
        assert run(shim, "-c", other, "-o", obj).returncode == 0
    assert run(shim, "-shared", "-o", tmp_path / "one.so", objs[0]).returncode == 0
    assert run(shim, "-shared", "-o", tmp_path / "both.so", *objs).returncode == 1
    assert [i.action for i in shim.invocations()] == ["run", "run", "run", "fail"]


def test_hold_blocks_until_release_then_compiles(shim, source, tmp_path):
    hold = shim.hold(kind="compile")
    proc = subprocess.Popen([shim.path, "-c", str(source), "-o", str(tmp_path / "u.o")])
    try:
        pid = hold.wait_reached(10)
        assert pid == proc.pid == hold.pid
        assert [i.pid for i in shim.running()] == [proc.pid]
        assert proc.poll() is None and not (tmp_path / "u.o").exists()
        hold.release()
        assert proc.wait(30) == 0
    finally:
        shim.release_all()
        proc.wait(30)
    assert (tmp_path / "u.o").exists()
    assert shim.invocations()[0].action == "hold" and not shim.running()


def test_hang_exits_1_after_release(shim, source, tmp_path):
    hang = shim.hang(match="unit.c")
    proc = subprocess.Popen([shim.path, "-c", str(source), "-o", str(tmp_path / "u.o")])
    try:
        hang.wait_reached(10)
        shim.release_all()
        assert proc.wait(30) == 1
    finally:
        shim.release_all()
        proc.wait(30)
    assert not (tmp_path / "u.o").exists()


def test_slow_delays_then_compiles(shim, source, tmp_path):
    shim.slow(kind="compile", ms=150)
    assert run(shim, "-c", source, "-o", tmp_path / "u.o").returncode == 0
    inv = shim.invocations()[0]
    assert inv.end - inv.start >= 0.15 and inv.action == "slow"
    # the compiler's own time starts after the delay
    assert inv.ran - inv.start >= 0.15
    assert 0 < inv.compiler_seconds == inv.end - inv.ran


def test_a_fault_runs_no_compiler(shim, source, tmp_path):
    shim.fail(kind="compile")
    assert run(shim, "-c", source, "-o", tmp_path / "u.o").returncode == 1
    inv = shim.invocations()[0]
    assert inv.ran is None and inv.compiler_seconds == 0 and inv.end is not None


def test_clear_rules_releases_and_forgets(shim, source, tmp_path):
    hold = shim.hold()
    proc = subprocess.Popen([shim.path, "--version"], stdout=subprocess.DEVNULL)
    try:
        hold.wait_reached(10)
        shim.clear_rules()
        assert proc.wait(30) == 0
    finally:
        shim.release_all()
        proc.wait(30)
    assert run(shim, "-c", source, "-o", tmp_path / "u.o").returncode == 0


def test_argv0_does_not_matter(shim):
    proc = subprocess.run(["anything"], executable=shim.path, capture_output=True, timeout=60)
    # argv[0] is replaced by the real compiler: gcc with no input says so and exits 1.
    assert proc.returncode == 1 and shim.invocations()[0].argv[0] == "anything"


def test_arguments_with_spaces_tabs_and_percent_round_trip(shim, tmp_path):
    odd = "a b\tc%d\ne"
    run(shim, "-DX=" + odd, "--version")
    assert shim.invocations()[0].argv[1] == "-DX=" + odd


def test_parse_log_pairs_records_and_orders_by_start():
    text = ("start\t20\t1\t2000000000\tcompile\thold\tr1\tcc\t-c\n"
            "start\t10\t1\t1000000000\tlink\trun\t-\tcc\n"
            "end\t10\t1500000000\t0\t0\trun\t1100000000\n"
            "end\t20\t2500000000\t0\t11\thold\t0\n"
            "start\t30\t1\t3000000000\tpch\trun\t-\tcc\n")
    a, b, c = parse_log(text)
    assert (a.seq, a.pid, a.exit, a.end, a.ran) == (1, 10, 0, 1.5, 1.1)
    assert (b.pid, b.signal, b.exit, b.rule, b.ran) == (20, 11, None, "r1", None)
    assert c.running and c.kind == "pch"


@pytest.mark.parametrize("call, message", [
    (lambda s: s.hold(kind="obj"),
     "shim rule kind='obj': expected one of pch, compile, link or None"),
    (lambda s: s.fail(nth=0), "shim rule nth=0: expected an integer >= 1 or None"),
    (lambda s: s.slow(ms=-1), "shim slow ms=-1: expected an integer >= 0"),
    (lambda s: s.crash(signal=0), "shim crash signal=0: expected a signal number"),
    (lambda s: s.fail(objects=0), "shim rule objects=0: expected an integer >= 1 or None"),
])
def test_bad_rules_raise_one_line(shim, call, message):
    with pytest.raises(MjitError) as exc:
        call(shim)
    assert str(exc.value) == message


def test_every_rule_up_to_the_table_size_applies_and_one_more_is_refused(shim, source, tmp_path):
    """The shim reads MAX_RULES rules: the last one still acts, the next is refused."""
    from pytest_mjit._shim._control import MAX_RULES
    for _ in range(MAX_RULES - 1):
        shim.slow(kind="link", ms=0)
    shim.fail(kind="compile")
    assert run(shim, "-c", source, "-o", tmp_path / "u.o").returncode == 1
    with pytest.raises(MjitError) as exc:
        shim.hold()
    assert str(exc.value) == f"the compiler shim holds at most {MAX_RULES} rules; " \
                             "clear_rules() drops them"
