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
        threading.Event().wait()
''')


def test_finish_deadline_is_unresolved(pytester):
    pytester.makepyfile(hostile_engine=HANGING_FINISH, test_hostile="""
        import pytest

        @pytest.mark.mjit_clause("FINISH-1")
        def test_finish(mjit_engine):
            pass
    """)
    pytester.makeconftest(FAST_DEADLINES + "from pytest_mjit import _fixtures\n"
                          "_fixtures.FINISH_TIMEOUT = 1.0\n")
    rc, out = run_isolated(pytester.path, "-n", "0", "--mjit-engine=hostile_engine:create",
                           "--mjit-report=r.json")
    report = read_report(pytester.path / "r.json")
    assert statuses(report)["FINISH-1"] == "UNRESOLVED", out
    assert report["clauses"]["FINISH-1"]["reason"].startswith(
        "harness deadline expired in teardown: deadline of 1.0s expired: engine.finish() at "
        "teardown")
