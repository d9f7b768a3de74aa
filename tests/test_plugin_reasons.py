"""Reasons a person can read: several teardown errors, a failure report whose last line is a
replay command, and a harness deadline at finish (UNRESOLVED, not FAIL)."""

from __future__ import annotations

import json

from hostile import FAST_DEADLINES, engine_source, read_report, run_isolated, statuses

pytest_plugins = ["pytester"]


def test_reasons_name_the_errors_not_the_layout(pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.fixture
        def two_finalizers(request):
            def first():
                raise ValueError("first finalizer broke")
            def second():
                raise KeyError("second")
            request.addfinalizer(first)
            request.addfinalizer(second)

        @pytest.mark.mjit_clause("FINISH-1")
        def test_teardown_errors(two_finalizers):
            pass

        @pytest.mark.mjit_clause("GC-1")
        def test_machine_like_failure():
            pytest.fail("InvariantViolated: GC-1: generate_code entered during GC\\n\\n"
                        "steps (shrunk):\\n  1. define\\n\\nreplay: --mjit-replay=6.1:AXicY2A",
                        pytrace=False)
    """)
    pytester.runpytest("--mjit-report=r.json", "-p", "no:randomly")
    clauses = json.loads((pytester.path / "r.json").read_text())["clauses"]
    assert clauses["FINISH-1"]["reason"] == (
        "teardown: 2 errors: ValueError: first finalizer broke; KeyError: 'second'")
    assert clauses["GC-1"]["reason"] == (
        "call: InvariantViolated: GC-1: generate_code entered during GC")


HANGING_FINISH = engine_source('''
    def finish(self, close_handle=True):
        if os.environ.get("HOSTILE_FINISH_HANGS"):
            threading.Event().wait()
        self._engine.finish(close_handle=close_handle)
''')


def test_finish_deadline_is_unresolved(pytester):
    """A finish that shows no sign of work is cut after FINISH_QUIET, well before its 30 s,
    and is UNRESOLVED; one that waits for a compile running longer than that is not cut."""
    pytester.makepyfile(hostile_engine=HANGING_FINISH, test_hostile="""
        import os
        import pytest
        from pytest_mjit.host import Insn
        from pytest_mjit.testing import wait_for

        @pytest.mark.mjit_clause("FINISH-2")
        def test_finish_waits_for_a_slow_compile(mjit_cc, mjit_host, mjit_engine):
            mjit_cc.slow(kind="compile", ms=1500)
            f = mjit_host.define("f", [Insn("arg", 0), Insn("ret")], argc=1)
            mjit_engine.add_iseq_to_process(f)
            wait_for(mjit_cc.running, 30, "the compile to start")

        @pytest.mark.mjit_clause("FINISH-1")
        def test_finish(mjit_engine):
            os.environ["HOSTILE_FINISH_HANGS"] = "1"
    """)
    pytester.makeconftest(FAST_DEADLINES + "from pytest_mjit import _rig\n"
                          "_rig.FINISH_QUIET = 0.3\n")
    rc, out = run_isolated(pytester.path, "-n", "0", "--mjit-engine=hostile_engine:create",
                           "--mjit-report=r.json")
    report = read_report(pytester.path / "r.json")
    assert statuses(report)["FINISH-2"] == "PASS", out
    assert statuses(report)["FINISH-1"] == "UNRESOLVED", out
    assert report["clauses"]["FINISH-1"]["reason"].startswith(
        "harness deadline expired in teardown: deadline of 30.0s cut after 0.3s without a sign "
        "of work: engine.finish() at teardown"), out
