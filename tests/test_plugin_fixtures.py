"""The harness fixtures with the reference engine: start/finish, the shim in the pipeline,
observers, option overrides, UNSUPPORTED skips, the leak guard and deadlines."""

from __future__ import annotations

import json


pytest_plugins = ["pytester"]

NARROW_ENGINE = """
import mjit_ref

def create(host, options):
    engine = mjit_ref.create_engine(host, options)
    engine.capabilities = frozenset({"pch"})
    return engine
"""


def run(pytester, source, *args):
    pytester.makepyfile(source)
    return pytester.runpytest("-p", "no:randomly", *args)


def test_engine_compiles_through_the_shim_and_is_finished(pytester):
    result = run(pytester, """
        import threading
        from pytest_mjit import is_compiled
        from pytest_mjit.testing import wait_for
        from pytest_mjit.host import Insn

        def test_pipeline(mjit_host, mjit_engine, mjit_cc, mjit_observe, mjit_tmpdir):
            before = mjit_observe.snapshot()
            f = mjit_host.define("f", [Insn("arg", 0), Insn("push", 1), Insn("add"), Insn("ret")],
                                 argc=1)
            for _ in range(2):
                mjit_host.call(f, 1)
            wait_for(lambda: is_compiled(f.body.jit_func), 30, "compile")
            assert mjit_host.call(f, 41) == 42
            kinds = [i.kind for i in mjit_cc.invocations()]
            assert kinds[0] == "pch" and "compile" in kinds
            assert all(i.ok for i in mjit_cc.invocations())
            assert mjit_observe.events("jit_call")
            assert any(m.path.startswith(str(mjit_tmpdir)) for m in mjit_observe.maps())
            diff = before.diff(mjit_observe.snapshot())
            assert diff.events_from == before.events

        def test_after():
            assert [t.name for t in threading.enumerate()] == ["MainThread"]
    """)
    result.assert_outcomes(passed=2)


def test_mjit_start_factory_and_marker_overrides(pytester):
    run(pytester, """
        import pytest

        @pytest.mark.mjit_options(min_calls=7, verbose=1)
        def test_marker(mjit_options, mjit_cc, mjit_tmpdir):
            assert (mjit_options.min_calls, mjit_options.verbose) == (7, 1)
            assert mjit_options.cc == mjit_cc.path and mjit_options.tmp_dir == str(mjit_tmpdir)
            assert mjit_options.cc_family == mjit_cc.family

        def test_factory(mjit_start):
            host1, engine1 = mjit_start()
            host2, engine2 = mjit_start(min_calls=3)
            assert engine1 is not engine2 and engine2.enabled
            assert host2.options.min_calls == 3

        @pytest.mark.mjit_options(min_calls="many")
        def test_bad_override(mjit_options):
            pass
    """).assert_outcomes(passed=2, errors=1)


def test_unsupported_capability_skips(pytester):
    pytester.syspathinsert()
    (pytester.path / "narrow_engine.py").write_text(NARROW_ENGINE)
    (pytester.path / "out").mkdir()
    result = run(pytester, """
        import pytest

        @pytest.mark.mjit_requires("fork")
        def test_requires_fork():
            pass

        @pytest.mark.mjit_clause("COMPACT-1")
        def test_compaction_clause():
            pass

        @pytest.mark.mjit_requires("pch")
        def test_requires_pch():
            pass
    """, "--mjit-engine=narrow_engine:create", "-rs", "--mjit-report=out/r.json")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["SKIPPED*UNSUPPORTED: the engine does not claim fork",
                                 "SKIPPED*UNSUPPORTED: the engine does not claim compaction"])
    report = json.loads((pytester.path / "out/r.json").read_text())
    assert report["clauses"]["COMPACT-1"]["status"] == "UNSUPPORTED"
    assert report["clauses"]["FORK-1"]["status"] == "UNSUPPORTED"
    assert report["engine"]["capabilities"] == ["pch"]


def test_leak_guard_names_leftovers(pytester):
    result = run(pytester, """
        import subprocess, threading

        stop = threading.Event()

        def test_thread(mjit_observe):
            threading.Thread(target=stop.wait, name="leaky-thread").start()

        def test_file(mjit_tmpdir):
            (mjit_tmpdir / "stray.o").write_text("x")

        def test_child(mjit_observe):
            subprocess.Popen(["sleep", "30"])

        def test_allowed(mjit_observe, mjit_tmpdir):
            mjit_observe.allow("files")
            (mjit_tmpdir / "kept.o").write_text("x")

        def test_zz_cleanup():
            stop.set()
    """)
    result.assert_outcomes(passed=5, errors=3)
    result.stdout.fnmatch_lines(["*the test left behind:*", "*threads: leaky-thread*"])
    result.stdout.fnmatch_lines(["*files in */jit: stray.o*"])
    result.stdout.fnmatch_lines(["*child processes: * sleep 30*"])


def test_failure_with_held_compiler_still_finishes_engine(pytester):
    result = run(pytester, """
        import threading
        from pytest_mjit.host import Insn

        def test_held(mjit_host, mjit_engine, mjit_cc):
            hold = mjit_cc.hold(kind="compile")
            f = mjit_host.define("f", [Insn("arg", 0), Insn("ret")], argc=1)
            mjit_host.call(f, 1); mjit_host.call(f, 1)
            hold.wait_reached(30)
            assert False, "fail while the compiler is held"

        def test_after():
            assert [t.name for t in threading.enumerate()] == ["MainThread"]
    """)
    result.assert_outcomes(passed=1, failed=1)
    assert "fail while the compiler is held" in result.stdout.str()


def test_harness_deadline_reports_stacks_and_engine_state(pytester):
    result = run(pytester, """
        def test_never_reached(mjit_host, mjit_engine, mjit_cc):
            mjit_cc.hold(kind="compile").wait_reached(0.2)
    """)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*DeadlineExceeded: deadline of 0.4s expired waiting for a "
                                 "compiler invocation to reach hold r1*",
                                 "*thread stacks:*", "*mjit engine state*", "*engine #0 stats:*"])


STUCK_INIT_ENGINE = """
import threading
import mjit_ref

class StuckInit:
    '''The reference engine, except that init() blocks for ever on the main thread.'''

    def __init__(self, host, options):
        self._engine = mjit_ref.create_engine(host, options)

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def init(self):
        threading.Event().wait()

def create(host, options):
    return StuckInit(host, options)
"""


def test_engine_stuck_in_init_fails_setup_by_the_deadline(pytester):
    """The setup phase (where fixtures start the engine) is bounded like the call phase."""
    pytester.makepyfile(stuck_engine=STUCK_INIT_ENGINE)
    pytester.makeconftest("""
        import dataclasses
        from pytest_mjit import _presets
        _presets.PRESETS["quick"] = dataclasses.replace(_presets.PRESETS["quick"],
                                                        test_timeout=1.0)
    """)
    result = run(pytester, """
        import threading

        def test_stuck(mjit_engine):
            raise AssertionError("the engine's init returned")

        def test_after():
            assert [t.name for t in threading.enumerate()] == ["MainThread"]
    """, "--mjit-engine=stuck_engine:create", "--mjit-preset=quick")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*deadline of 1.0s expired: test setup of *test_stuck*",
                                 "*thread stacks:*"])
    assert "the engine's init returned" not in result.stdout.str()
