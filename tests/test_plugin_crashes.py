"""A test that crashed, was interrupted or never ran is never PASS, and a run that dies leaves
no earlier certificate behind (issue: a certificate that cannot lie)."""

from __future__ import annotations

import json

import pytest

from pytest_mjit.testing import wait_for
from hostile import engine_source, read_report, run_isolated, statuses

pytest_plugins = ["pytester"]

CRASHING = engine_source('''
    def add_iseq_to_process(self, iseq, compile_info=None):
        ctypes.string_at(0)           # SIGSEGV in the worker

    def init(self):
        if self.options.min_calls == 3:
            os._exit(3)               # dies while the fixtures start it
        self._engine.init()
''')

TESTS = """
import pytest
from pytest_mjit.host import Insn

def method(host):
    return host.define("f", [Insn("arg", 0), Insn("ret")], argc=1)

@pytest.mark.mjit_clause("QUEUE-1")
def test_crash_in_call(mjit_host, mjit_engine):
    mjit_engine.add_iseq_to_process(method(mjit_host))

@pytest.mark.mjit_clause("QUEUE-1")
def test_fine_same_clause(mjit_engine):
    pass

@pytest.mark.mjit_clause("QUEUE-2")
@pytest.mark.mjit_options(min_calls=3)
def test_exit_in_setup(mjit_engine):
    pass

@pytest.mark.mjit_clause("QUEUE-2")
def test_fine_other_clause(mjit_engine):
    pass

@pytest.mark.mjit_clause("QUEUE-4")
def test_fine(mjit_engine):
    pass
"""


@pytest.fixture
def crashing(pytester):
    pytester.makepyfile(hostile_engine=CRASHING, test_hostile=TESTS)
    return pytester.path


def test_crashed_tests_are_never_pass_under_xdist(crashing):
    """One worker: each crash restarts it, and the last worker tells which clauses the test
    that crashed in setup belongs to."""
    rc, out = run_isolated(crashing, "-n", "1", "--mjit-engine=hostile_engine:create",
                           "--mjit-report=report.json")
    report = read_report(crashing / "report.json")
    status = statuses(report)
    assert (status["QUEUE-1"], status["QUEUE-2"], status["QUEUE-4"]) == (
        "FAIL", "FAIL", "PASS"), out
    reasons = {c: report["clauses"][c]["reason"] for c in ("QUEUE-1", "QUEUE-2")}
    assert "crashed" in reasons["QUEUE-1"] and "killed by signal 11 (SIGSEGV)" in reasons["QUEUE-1"]
    assert "crashed" in reasons["QUEUE-2"] and "exit status 3" in reasons["QUEUE-2"]
    assert not report["certificate"]["granted"]
    assert "GRANTED: all" not in out
    assert rc == 1
    # the crashed workers' watchdogs remove their session dirs
    wait_for(lambda: not list((crashing / "tmp").glob("pytest-mjit-*")), 10,
             "the session dirs of crashed workers to go")


def test_run_killed_by_a_crash_leaves_no_earlier_certificate(crashing):
    granted = {"certificate": {"granted": True, "line": "mjit certificate: GRANTED: all"}}
    (crashing / "report.json").write_text(json.dumps(granted))
    (crashing / "report.md").write_text("**mjit certificate: GRANTED: all**\n")
    rc, out = run_isolated(crashing, "-n", "0", "--mjit-engine=hostile_engine:create",
                           "--mjit-report=report.json", "-k", "crash_in_call")
    assert rc == -11, out
    report = read_report(crashing / "report.json")
    assert report["finished"] is False and report["certificate"]["granted"] is False
    assert "the run did not finish" in report["certificate"]["line"]
    assert "did not finish" in (crashing / "report.md").read_text()
    # the watchdog says which test the process died in
    died = "died during test call of test_hostile.py::test_crash_in_call"
    wait_for(lambda: died in read_report(crashing / "report.json")["certificate"]["line"]
             and died in (crashing / "report.md").read_text(), 10, "the watchdog's note")
    assert not list((crashing / "tmp").glob("pytest-mjit-*")), "session dir left behind"


INTERRUPTING = engine_source('''
    def add_iseq_to_process(self, iseq, compile_info=None):
        raise KeyboardInterrupt
''')


def test_interrupted_test_and_run_are_not_pass(pytester):
    pytester.makepyfile(hostile_engine=INTERRUPTING, test_hostile=TESTS)
    rc, out = run_isolated(pytester.path, "-n", "0", "--mjit-engine=hostile_engine:create",
                           "--mjit-report=report.json")
    assert rc == pytest.ExitCode.INTERRUPTED, out
    report = read_report(pytester.path / "report.json")
    status = statuses(report)
    assert status["QUEUE-1"] == "UNRESOLVED"
    reason = report["clauses"]["QUEUE-1"]["reason"]
    assert "never completed its call phase (KeyboardInterrupt" in reason
    assert status["QUEUE-4"] == "UNRESOLVED"    # collected, never ran
    assert "the run was interrupted (KeyboardInterrupt" in report["certificate"]["line"]


def test_worker_that_dies_between_tests_withholds_the_certificate(pytester):
    pytester.makeconftest("""
        import os
        import pytest

        @pytest.hookimpl(tryfirst=True)
        def pytest_sessionfinish(session):
            if hasattr(session.config, "workerinput"):
                os._exit(5)             # after its last test, before it reports back
    """)
    pytester.makepyfile("""
        import pytest

        @pytest.mark.mjit_clause("QUEUE-1")
        def test_fine():
            pass
    """)
    pytester.runpytest("-n", "1", "--mjit-report=r.json", "-p", "no:randomly")
    report = json.loads((pytester.path / "r.json").read_text())
    assert statuses(report)["QUEUE-1"] == "PASS"
    assert "worker gw0 died between tests (exit status 5)" in report["certificate"]["line"]


def test_reports_are_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    from pytest_mjit import _report
    path = tmp_path / "r.json"
    path.write_text("old json\n")
    (tmp_path / "r.md").write_text("old md\n")

    def broken(report):
        raise OSError("disk full")

    monkeypatch.setattr(_report, "markdown", broken)
    with pytest.raises(OSError, match="disk full"):
        _report.write_reports({"certificate": {}}, path)
    assert path.read_text() == "old json\n" and (tmp_path / "r.md").read_text() == "old md\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.md"]
