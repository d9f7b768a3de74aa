"""Deadlines an engine cannot defeat: a hanging stats(), a factory that never returns, an engine
that swallows the deadline's exception and resets the timer, a non-daemon thread left running.
Each run ends, with a verdict that is not PASS.  And a test's own deadline works inside the
per-test one."""

from __future__ import annotations

import time

import pytest

from pytest_mjit.testing import DeadlineExceeded, active_deadlines, deadline, scale

from hostile import FAST_DEADLINES, engine_source, read_report, run_isolated, statuses

pytest_plugins = ["pytester"]

TESTS = """
import pytest
from pytest_mjit.host import Insn

@pytest.mark.mjit_clause("QUEUE-1")
def test_queue(mjit_host, mjit_engine):
    mjit_engine.add_iseq_to_process(mjit_host.define("f", [Insn("arg", 0), Insn("ret")], argc=1))

@pytest.mark.mjit_clause("QUEUE-4")
def test_fine(mjit_engine):
    pass
"""

STATS_HANG = '''
    def add_iseq_to_process(self, iseq, compile_info=None):
        threading.Event().wait()      # until the harness's deadline

    def stats(self):
        threading.Event().wait()      # for ever
'''

UNSTOPPABLE = '''
    def add_iseq_to_process(self, iseq, compile_info=None):
        while True:                   # swallows every exception and disarms the timer
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
                time.sleep(0.05)
            except BaseException:
                pass
'''

LINGERING_THREAD = '''
    def init(self):
        self._engine.init()
        threading.Thread(target=threading.Event().wait, name="hostile-linger").start()
'''


def hostile_run(pytester, body: str, *args: str) -> tuple[int, str]:
    pytester.makepyfile(hostile_engine=engine_source(body), test_hostile=TESTS)
    pytester.makeconftest(FAST_DEADLINES)
    return run_isolated(pytester.path, "--mjit-engine=hostile_engine:create",
                        "--mjit-report=report.json", *args)


def test_hanging_stats_never_hangs_the_deadline(pytester):
    rc, out = hostile_run(pytester, STATS_HANG, "-n", "0")
    report = read_report(pytester.path / "report.json")
    assert statuses(report)["QUEUE-1"] == "UNRESOLVED", out
    assert "harness deadline expired in call" in report["clauses"]["QUEUE-1"]["reason"]
    assert "engine #0 stats: unavailable (engine.stats() did not return within" in out
    assert rc == 1


def test_engine_that_defeats_the_alarm_is_killed_by_the_watchdog(pytester):
    rc, out = hostile_run(pytester, UNSTOPPABLE, "-n", "1")
    report = read_report(pytester.path / "report.json")
    status = statuses(report)
    assert (status["QUEUE-1"], status["QUEUE-4"]) == ("UNRESOLVED", "PASS"), out
    reason = report["clauses"]["QUEUE-1"]["reason"]
    assert "crashed" in reason and "killed by signal 9 (SIGKILL)" in reason
    assert "pytest-mjit watchdog: test call of test_hostile.py::test_queue outlived" in out
    assert not report["certificate"]["granted"]


def test_factory_that_never_returns_is_one_start_up_line(pytester):
    pytester.makepyfile(hostile_engine="""
        import threading
        def create(host, options):
            threading.Event().wait()
    """, test_hostile=TESTS)
    pytester.makeconftest(FAST_DEADLINES + "from pytest_mjit import _engine_check\n"
                          "_engine_check.FACTORY_TIMEOUT = 1.0\n")
    rc, out = run_isolated(pytester.path, "-n", "0", "--mjit-engine=hostile_engine:create")
    assert rc == 4, out
    assert ("ERROR: --mjit-engine=hostile_engine:create: the factory did not return within 1s"
            in out.splitlines())


def test_non_daemon_engine_thread_does_not_keep_pytest_alive(pytester):
    rc, out = hostile_run(pytester, LINGERING_THREAD, "-n", "0")
    assert "threads: hostile-linger" in out
    assert ("pytest-mjit: the engine left non-daemon thread(s) running at exit (hostile-linger, "
            "hostile-linger); exiting without waiting for them") in out
    assert rc == 1


def test_a_deadline_inside_the_per_test_one_works(request, mjit_engine):
    """The plugin bounds the call of a test that starts an engine; a test's own deadline nests
    inside that bound (it used to do nothing there), and the bound stands after it."""
    per_test = f"test call of {request.node.nodeid}"
    assert [what for what, _left in active_deadlines()] == [per_test]
    with pytest.raises(DeadlineExceeded) as inner:
        with deadline(0.05, "a client call"):
            time.sleep(scale(20.0))
    assert "expired: a client call" in str(inner.value)
    assert [what for what, _left in active_deadlines()] == [per_test]
