"""A broken engine gets a fast, clean "no": an engine that hangs costs seconds per test once its
first hang is known, one that kills its worker process costs the test that was running (every
other test still runs, however many crash), and the run leaves no process behind."""

from __future__ import annotations

import pytest

from hostile import (CODE_SEGFAULTS, FAST_DEADLINES, FINISH_HANGS, WORKER_EXITS,
                     WORKER_NEVER_STOPS, read_report, run_isolated, statuses)

pytest_plugins = ["pytester"]

QUEUE_TESTS = """
import pytest
from pytest_mjit.host import Insn

@pytest.mark.parametrize("n", range({n}))
@pytest.mark.mjit_clause("QUEUE-1")
def test_queue(n, mjit_host, mjit_engine):
    mjit_engine.add_iseq_to_process(mjit_host.define("f", [Insn("arg", 0), Insn("ret")], argc=1))

@pytest.mark.mjit_clause("QUEUE-4")
def test_fine():
    pass
"""

#: Seconds a whole-suite run may take: each crash costs a worker start-up, about 3 s on a
#: loaded 2-core machine (measured: 5 min 46 s for 108 crashes).  A hanging engine's first
#: hang costs FINISH_QUIET (5 s), each later test seconds (measured on 2 cores at a load
#: average of 6: 2 min 20 s for finish-hangs, 2 min 1 s for worker-never-stops).
WHOLE_SUITE_LIMIT = 900.0
#: The first hang waits for FINISH_TIMEOUT (2 s), those after it for the cut.
SHORT_FINISH = (FAST_DEADLINES
                + "from pytest_mjit import _fixtures\n_fixtures.FINISH_TIMEOUT = 2.0\n")


def _queue_tests(report) -> list[dict]:
    return report["clauses"]["QUEUE-1"]["tests"]


#: A compiler slower than the finish deadline: a hung engine's worker is still compiling when
#: its test ends (a loaded machine does the same to any compiler).
SLOW_CC = """#!/bin/sh
case "$*" in *--version*|*-dumpversion*|*-print-*) ;; *) sleep 3;; esac
exec gcc "$@"
"""


@pytest.mark.parametrize("engine, slow_cc", [(FINISH_HANGS, True), (WORKER_NEVER_STOPS, False)],
                         ids=["finish-hangs", "worker-never-stops"])
def test_hanging_engine_costs_seconds_per_test_after_its_first_hang(pytester, engine, slow_cc):
    pytester.makepyfile(hostile_engine=engine, test_hostile=QUEUE_TESTS.replace("{n}", "6"))
    pytester.makeconftest(SHORT_FINISH)
    args = ["-n", "2", "--mjit-engine=hostile_engine:create", "--mjit-report=report.json"]
    if slow_cc:
        cc = pytester.path / "slowcc"
        cc.write_text(SLOW_CC)
        cc.chmod(0o755)
        args.append(f"--mjit-cc={cc}")
    rc, out = run_isolated(pytester.path, *args)
    report = read_report(pytester.path / "report.json")
    assert rc == 1 and statuses(report)["QUEUE-1"] == "UNRESOLVED", out
    tests = _queue_tests(report)
    assert len(tests) == 6 and all(t["status"] == "UNRESOLVED" for t in tests), tests
    reasons = [t["reason"].splitlines()[0] for t in tests]
    # a compile still running at teardown is killed, not waited for: the hang is the reason
    assert all("engine.finish() at teardown" in r for r in reasons), reasons
    cut = [t for t in tests if "after a hang: engine.finish() did not return in "
           "test_hostile.py::test_queue[" in t["reason"]]
    # each worker may meet the hang before the other's note reaches it; no more
    assert len(cut) >= 4, tests
    assert not report["certificate"]["granted"]
    assert "the run left" not in out, out
    assert not list((pytester.path / "tmp").glob("pytest-mjit-*")), "session dir left behind"


def test_crashes_cost_their_tests_not_the_run(pytester):
    """More crashes than xdist restarts a worker by default (4 with -n 1): every test still
    runs, each crash is the FAIL of its test with the exit status and the engine's last words."""
    pytester.makepyfile(hostile_engine=WORKER_EXITS, test_hostile=QUEUE_TESTS.replace("{n}", "5"))
    rc, out = run_isolated(pytester.path, "-n", "1", "--mjit-engine=hostile_engine:create",
                           "--mjit-report=report.json", "-p", "no:randomly")
    report = read_report(pytester.path / "report.json")
    assert rc == 1 and report["finished"], out
    assert statuses(report)["QUEUE-4"] == "PASS", out
    tests = _queue_tests(report)
    assert len(tests) == 5 and all(t["status"] == "FAIL" for t in tests), tests
    for t in tests:
        assert "crashed: worker gw" in t["reason"], t
        assert "(exit status 7; last words: hostile worker: giving up on u0)" in t["reason"], t
    assert "maximum crashed workers" not in out, out


def test_run_kills_and_reports_a_process_that_outlives_it(pytester):
    """A process the run started that is still there after the workers have gone is killed,
    named on the terminal and withholds the certificate."""
    pytester.makeconftest("""
        import subprocess

        def pytest_sessionfinish(session):
            if hasattr(session.config, "workerinput"):   # a worker leaves a daemon
                subprocess.run(["sh", "-c", "sleep 300 > /dev/null 2>&1 &"], check=True)
    """)
    pytester.makepyfile(test_fine="""
        import pytest

        @pytest.mark.mjit_clause("QUEUE-4")
        def test_fine():
            pass
    """)
    rc, out = run_isolated(pytester.path, "-n", "1", "--mjit-report=report.json")
    report = read_report(pytester.path / "report.json")
    line = report["certificate"]["line"]
    assert "the run left 1 process(es) behind (killed): " in line and "sleep 300" in line, out
    assert "pytest-mjit: the run left 1 process(es) behind (killed)" in out
    assert not report["certificate"]["granted"]


@pytest.mark.slow
@pytest.mark.parametrize("engine", [FINISH_HANGS, WORKER_NEVER_STOPS, WORKER_EXITS,
                                    CODE_SEGFAULTS],
                         ids=["finish-hangs", "worker-never-stops", "worker-exits",
                              "code-segfaults"])
def test_whole_suite_against_a_broken_engine(pytester, engine):
    """The certification run itself: it ends (within run_isolated's bound), every clause gets
    a verdict from a test that ran, and nothing of the run is left."""
    pytester.makepyfile(hostile_engine=engine)
    rc, out = run_isolated(pytester.path, "--pyargs", "conformance", "-n", "2",
                           "--mjit-engine=hostile_engine:create", "--mjit-report=report.json",
                           limit=WHOLE_SUITE_LIMIT)
    report = read_report(pytester.path / "report.json")
    assert rc == 1 and report["finished"] and not report["certificate"]["granted"], out
    never_ran = [c for c, v in report["clauses"].items() if v["reason"] == "no test ran for it"]
    assert not never_ran, out
    assert "FAIL" in statuses(report).values() or "UNRESOLVED" in statuses(report).values()
    assert "the run left" not in out, out
    assert not list((pytester.path / "tmp").glob("pytest-mjit-*")), "session dir left behind"
