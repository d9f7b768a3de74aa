"""OPT: what the options change in an engine's observable behaviour: the cache size floor,
the tmp dir choice, debug flags, verbosity and kept temporary files."""

import os
import re

import pytest

from pytest_mjit import JitState, Options, is_compiled
from pytest_mjit.testing import (STEP_WAIT, call_to_enqueue, compile_methods, deadline,
                                 define_affine, settle, wait_for)

from ._support import STOP_WAIT, define_caller, runs_compiled, unit_file_names



def finish(engine):
    with deadline(STOP_WAIT, "finish"):
        engine.finish()


@pytest.mark.mjit_clause("OPT-1")
def test_cache_size_and_min_calls_are_normalised(mjit_start, mjit_cc):
    """max_cache_size <= 0 means 100 and below 10 means 10, min_calls 0 means 10000; an engine
    given max_cache_size=1 keeps compiling past one unit."""
    base = dict(cc=mjit_cc.path, cc_family=mjit_cc.family)
    sizes = {n: Options(max_cache_size=n, **base).max_cache_size for n in (-5, 0, 1, 9, 10, 11)}
    assert sizes == {-5: 100, 0: 100, 1: 10, 9: 10, 10: 10, 11: 11}
    assert Options(min_calls=0, **base).min_calls == 10000
    assert Options(min_calls=1, **base).min_calls == 1

    host, engine = mjit_start(max_cache_size=1)
    methods = compile_methods(host, engine, 1, 2, 3)
    for m in methods:
        assert runs_compiled(host, m, 2)


def world_writable(path, sticky):
    path.mkdir()
    path.chmod(0o1777 if sticky else 0o777)
    return path


# name -> how to make a candidate directory under a scratch dir
CANDIDATES = {
    "usable": lambda p: (p.mkdir(mode=0o700), p)[1],
    "world-writable": lambda p: world_writable(p, sticky=False),
    "world-writable-sticky": lambda p: world_writable(p, sticky=True),
    "regular-file": lambda p: (p.write_text(""), p)[1],
    "missing": lambda p: p,
}
SYSTEM_DEFAULT = "/tmp"


@pytest.mark.mjit_clause("OPT-2")
@pytest.mark.parametrize("tmpdir_env, tmp_env, expected", [
    ("usable", "usable", "TMPDIR"),
    ("world-writable-sticky", "usable", "TMPDIR"),
    ("world-writable", "usable", "TMP"),
    ("regular-file", "usable", "TMP"),
    ("missing", "usable", "TMP"),
    (None, "usable", "TMP"),
    ("world-writable", "regular-file", "system"),
])
def test_tmp_dir_follows_the_environment(tmpdir_env, tmp_env, expected, mjit_start, mjit_cc,
                                         tmp_path, monkeypatch):
    """Without tmp_dir the engine writes into TMPDIR, else TMP, else the system default
    (/tmp on Linux), skipping a candidate that is not a directory or is world-writable
    without the sticky bit."""
    scratch = tmp_path / "env"
    scratch.mkdir()
    env = {}
    for var, kind in (("TMPDIR", tmpdir_env), ("TMP", tmp_env)):
        if kind is None:
            monkeypatch.delenv(var, raising=False)
        else:
            env[var] = str(CANDIDATES[kind](scratch / var.lower()))
            monkeypatch.setenv(var, env[var])
    # Every compiler run fails without writing anything: only its -o argument is of interest.
    mjit_cc.fail()
    host, engine = mjit_start(tmp_dir=None)
    m = define_affine(host, "m", 1)
    call_to_enqueue(host, m, host.options.min_calls)
    wait_for(lambda: any(i.output for i in mjit_cc.invocations()), STEP_WAIT,
             "the engine to run the compiler", extra=mjit_cc.describe)
    finish(engine)
    outputs = {os.path.dirname(i.output) for i in mjit_cc.invocations() if i.output}
    want = SYSTEM_DEFAULT if expected == "system" else env[expected]
    assert outputs == {want}, f"TMPDIR={tmpdir_env}, TMP={tmp_env}: expected {expected} {want}"


def compile_argvs(shim, kinds=("pch", "compile")):
    return [i.argv for i in shim.invocations() if i.kind in kinds]


@pytest.mark.mjit_clause("OPT-3")
def test_debug_flags_replace_optimisation_and_reach_every_compile(mjit_start, mjit_cc):
    """debug compiles without the optimisation flags of a normal build (with debug info
    instead), and debug_flags reach the header build and every unit compile, in order."""
    host, engine = mjit_start()
    compile_methods(host, engine, 1)
    finish(engine)
    normal = compile_argvs(mjit_cc, ("compile",))[0]
    optimise = {a for a in normal if re.fullmatch(r"-O[1-9sz]|-O|-Ofast", a)}
    assert optimise, f"a normal build is not optimised: {normal}"

    runs = len(mjit_cc.invocations())
    extra = ("-DMJIT_CONFORMANCE_A=1", "-DMJIT_CONFORMANCE_B=2")
    host, engine = mjit_start(debug=True, debug_flags=extra)
    methods = compile_methods(host, engine, 2, 3)
    for m in methods:
        assert runs_compiled(host, m, 4)
    finish(engine)
    argvs = [i.argv for i in mjit_cc.invocations()[runs:] if i.kind in ("pch", "compile")]
    assert len(argvs) >= len(methods)
    for argv in argvs:
        assert not optimise & set(argv), f"debug build still optimises: {argv}"
        assert any(a.startswith("-g") for a in argv), f"debug build has no -g flag: {argv}"
        at = [i for i in range(len(argv) - 1) if argv[i:i + 2] == extra]
        assert at, f"debug_flags {extra} missing from {argv}"


def verbose_workload(host, engine):
    """Two methods that compile and one whose code generation fails (its caches cannot be
    copied: the host refuses postponed jobs); the engine is finished."""
    good = [define_affine(host, name, k) for k, name in enumerate(("good1", "good2"), 1)]
    bad = define_caller(host, good[0], name="bad")
    host.refuse_postponed_jobs = True
    for m in good + [bad]:
        call_to_enqueue(host, m, host.options.min_calls)
    states = [settle(host, engine, m, STEP_WAIT) for m in good + [bad]]
    host.refuse_postponed_jobs = False
    assert [is_compiled(s) for s in states] == [True, True, False]
    finish(engine)


@pytest.mark.mjit_clause("OPT-4")
def test_verbose_1_reports_units_and_compaction(mjit_start, mjit_cc, capfd):
    """verbose=1 prints a success line per compiled method, a failure line per method whose
    code generation failed, and a line per compaction."""
    capfd.readouterr()
    host, engine = mjit_start(verbose=1)
    verbose_workload(host, engine)
    lines = capfd.readouterr().err.lower().splitlines()
    for name, word in (("good1", "success"), ("good2", "success"), ("bad", "fail")):
        assert [ln for ln in lines if name in ln and word in ln], \
            f"no {word} line for {name} in:\n" + "\n".join(lines)
    if "compaction" in engine.capabilities:
        assert [ln for ln in lines if "compact" in ln], "no compaction line in:\n" + \
            "\n".join(lines)


@pytest.mark.mjit_clause("OPT-4")
def test_verbose_0_is_silent(mjit_start, mjit_cc, capfd):
    """verbose=0 without warnings prints nothing, even for a failed unit."""
    capfd.readouterr()
    host, engine = mjit_start(verbose=0, warnings=False)
    verbose_workload(host, engine)
    assert capfd.readouterr().err == ""


@pytest.mark.mjit_clause("OPT-4")
def test_warnings_print_warnings_only(mjit_start, mjit_cc, capfd):
    """warnings=True with verbose=0 prints the wait timeout warning and no unit lines."""
    capfd.readouterr()
    hold = mjit_cc.hold("compile", nth=1)
    host, engine = mjit_start(verbose=0, warnings=True, wait=True, wait_timeout=0.2)
    slow = define_affine(host, "slow", 1)
    # The call reaching min_calls waits for the held compile and gives up after 0.2 s.
    with deadline(STEP_WAIT, "the call that waits for a held compile"):
        call_to_enqueue(host, slow, host.options.min_calls)
    assert slow.body.jit_func == JitState.NOT_COMPILED
    hold.release()
    fast = define_affine(host, "fast", 2)
    call_to_enqueue(host, fast, host.options.min_calls)
    assert settle(host, engine, fast, STEP_WAIT) != JitState.NOT_READY
    finish(engine)
    lines = [ln for ln in capfd.readouterr().err.splitlines() if ln.strip()]
    assert lines, "warnings=True printed no warning for a wait that timed out"
    assert all("warning" in ln.lower() for ln in lines), "\n".join(lines)


@pytest.mark.mjit_clause("OPT-5")
def test_save_temps_keeps_every_file(mjit_start, mjit_cc, mjit_observe):
    """With save_temps the unit's .c, .o and .so and the precompiled header outlive finish."""
    host, engine = mjit_start(save_temps=True)
    m, = compile_methods(host, engine, 5)
    unit = m.body.jit_func.unit_id
    finish(engine)
    kept = unit_file_names(mjit_observe.tmp_dir, unit)
    assert sorted(os.path.splitext(f)[1] for f in kept) == [".c", ".o", ".so"], kept
    if "pch" in engine.capabilities:
        headers = [i.output for i in mjit_cc.invocations() if i.kind == "pch" and i.ok]
        assert headers and all(os.path.exists(h) for h in headers), "the header was removed"
    for name in mjit_observe.files():
        os.remove(mjit_observe.tmp_dir / name)
