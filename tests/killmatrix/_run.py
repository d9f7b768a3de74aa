"""One pytest process running (part of) the conformance suite against one engine.

The process runs in its own process group with a JSON report.  It is interrupted (SIGINT, so
pytest still writes its report; then SIGKILL to the whole group) when it overruns its time
limit or when its ``-v`` log stays silent too long while one test runs: a hung test costs at
most ``idle`` seconds, and is recorded as UNRESOLVED ("hung") because the suite never let it
finish.  Whatever happens, nothing of the group is left running when ``run_suite`` returns.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
#: Every run uses the same seed and preset, so a catch can be replayed by tests/test_mutants.py.
SEED = 1
PRESET = "quick"
#: Seconds pytest gets after SIGINT to write its report before the group is killed.
INTERRUPT_GRACE = 10.0
#: How the suite's report begins the reason of a test it expected and never saw run.
NEVER_RAN = "the test never completed its call phase"
#: Environment of an enclosing pytest (or xdist worker) that the suite's process must not see;
#: and PYTHONDONTWRITEBYTECODE, which would make every run compile (and assertion-rewrite)
#: pytest, hypothesis and the suite again: seconds each, most of a fast row's time.
_OUTER_ENV = ("PYTEST_XDIST_", "PYTEST_CURRENT_TEST", "PYTEST_ADDOPTS", "PYTHONDONTWRITEBYTECODE")
#: Where the suite's processes keep their bytecode instead: the checkout's ignored kill-matrix
#: directory (on whichever machine runs the row), never beside the sources nor in /tmp.
PYCACHE = ROOT / ".killmatrix" / "pycache"


def suite_env() -> dict[str, str]:
    """The environment of the suite's process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OUTER_ENV)}
    return dict(env, PYTHONPYCACHEPREFIX=str(PYCACHE))


def suite_command(engine: str, report: Path, cc: str | None,
                  tests: list[str] | None = None, extra: tuple[str, ...] = ()) -> list[str]:
    """The pytest command line that runs the conformance suite (or only ``tests``, paths
    with ``::`` test names) against ``engine`` in one process and writes ``report``."""
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
           "-v", "-rN", f"--mjit-engine={engine}", f"--mjit-report={report}",
           f"--mjit-seed={SEED}", f"--mjit-preset={PRESET}", *extra]
    if cc:
        cmd.append(f"--mjit-cc={cc}")
    return cmd + (list(tests) if tests else ["--pyargs", "conformance"])


@dataclasses.dataclass
class SuiteRun:
    """What one pytest process reported."""

    returncode: int | None
    timed_out: bool
    duration: float
    #: nodeid -> dict(status, reason, duration, clauses) from the JSON report
    tests: dict[str, dict[str, Any]]
    #: why the report is missing or incomplete ("" when it is complete)
    problem: str = ""
    log: str = ""


def _kill_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


_STARTED = re.compile(r"^(\S+::\S+) ", re.MULTILINE)
_FINISHED = re.compile(r"^(\S+::\S+) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b", re.MULTILINE)


def running_test(log_text: str) -> str | None:
    """The test a ``pytest -v`` log shows started and not finished, or None."""
    started = _STARTED.findall(log_text)
    if not started:
        return None
    last = started[-1]
    return None if last in {m.group(1) for m in _FINISHED.finditer(log_text)} else last


def idle_limit(nodeid: str | None, idle: float) -> float:
    """Seconds of silence allowed while ``nodeid`` runs: a protocol machine explores for
    minutes without printing, any other test gets ``idle``; start-up and the session's end
    (no test running) get at least a minute."""
    if nodeid is None:
        return max(idle, 60.0)
    return max(idle, 600.0) if "protocol_machine" in nodeid else idle


def _outlived(proc: subprocess.Popen, timeout: float) -> bool:
    """True if ``proc`` is still running after ``timeout`` seconds."""
    try:
        proc.wait(timeout)
        return False
    except subprocess.TimeoutExpired:
        return True


def _watch(proc: subprocess.Popen, log_path: Path, start: float, timeout: float,
           idle: float) -> tuple[bool, str | None]:
    """Watch ``proc``'s log until it ends: (False, None); outlives ``timeout``: (True, None);
    or stays silent past its idle limit: (True, the test it was running)."""
    size, changed, current = -1, start, None
    while proc.poll() is None:
        time.sleep(0.5)                 # a log's growth has no event to wait on
        now = time.monotonic()
        grown = log_path.stat().st_size
        if grown != size:
            size, changed = grown, now
            current = running_test(log_path.read_text(errors="replace"))
        if now - start > timeout:
            return True, None
        if now - changed > idle_limit(current, idle):
            return True, current
    return False, None


def run_suite(engine: str, report: Path, cc: str | None, timeout: float,
              tests: list[str] | None = None, idle: float | None = None,
              extra: tuple[str, ...] = ()) -> SuiteRun:
    """Run the suite against ``engine``: at most ``timeout`` seconds, and (with ``idle``) at
    most ``idle`` seconds of silence in the ``-v`` log (see ``idle_limit``)."""
    log_path = report.with_suffix(".log")
    start = time.monotonic()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(suite_command(engine, report, cc, tests, extra), cwd=ROOT,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, env=suite_env())
        try:
            timed_out, hung = (_watch(proc, log_path, start, timeout, idle) if idle
                               else (_outlived(proc, timeout), None))
            if timed_out:
                _kill_group(proc, signal.SIGINT)
                try:
                    proc.wait(INTERRUPT_GRACE)
                except subprocess.TimeoutExpired:
                    _kill_group(proc, signal.SIGKILL)
        finally:
            # Compiler or helper processes the run left in its group go too.
            _kill_group(proc, signal.SIGKILL)
            proc.wait()
    outcome = dict(returncode=proc.returncode, timed_out=timed_out, timeout=timeout,
                   duration=time.monotonic() - start, hung=hung,
                   silence=idle_limit(hung, idle or 0.0))
    report.with_suffix(".run.json").write_text(json.dumps(outcome) + "\n")
    return load_run(report)


def load_run(report: Path) -> SuiteRun:
    """The run whose report (and the log and outcome files beside it) ``run_suite`` wrote."""
    outcome = json.loads(report.with_suffix(".run.json").read_text())
    log_path = report.with_suffix(".log")
    log_text = log_path.read_text(errors="replace") if log_path.exists() else ""
    problem = ""
    tests_seen: dict[str, dict[str, Any]] = {}
    data = None
    if report.exists():
        try:
            data = json.loads(report.read_text())
            tests_seen = tests_of(data)
        except (ValueError, KeyError) as exc:
            problem = f"unreadable report: {exc}"
    # no report, or only the one a run writes at its start: the run was killed
    if not report.exists() or (data is not None and data.get("finished") is False):
        problem = "no report written: " + (log_text.strip().splitlines() or ["(no output)"])[-1]
        tests_seen = failures_in_log(log_text)
    started = set(_STARTED.findall(log_text))
    # A run stopped at its first catch (-x) reports every test after it as never completed.
    tests_seen = {n: t for n, t in tests_seen.items()
                  if n in started or not t["reason"].startswith(NEVER_RAN)}
    if outcome.get("hung"):
        # The suite never let this test end: it counts as UNRESOLVED, like an expired deadline.
        tests_seen[outcome["hung"]] = dict(
            status="UNRESOLVED", duration=outcome["silence"], clauses=[],
            reason=f"hung: no progress for {outcome['silence']:.0f} s, the run was killed")
        problem = f"killed after {outcome['silence']:.0f} s without progress in " \
                  f"{outcome['hung']}"
    elif outcome["timed_out"]:
        problem = f"interrupted after {outcome['timeout']:.0f} s" + (
            f"; {problem}" if problem else "")
    return SuiteRun(outcome["returncode"], outcome["timed_out"], outcome["duration"],
                    tests_seen, problem, log_text)


_VERBOSE_FAILURE = re.compile(r"^(\S+::\S+) (FAILED|ERROR)\b", re.MULTILINE)


def failures_in_log(log_text: str) -> dict[str, dict[str, Any]]:
    """Failed tests named in a ``pytest -v`` log, for a run killed before it wrote its report.
    Their clauses are unknown here (filled in from the reference run's report)."""
    return {m.group(1): dict(status="FAIL", reason="from the log of a run that was killed",
                             duration=0.0, clauses=[])
            for m in _VERBOSE_FAILURE.finditer(log_text)}


def tests_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's tests by node id, each with its status, reason, duration and clauses."""
    seen: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for cid, clause in report["clauses"].items():
        for t in clause["tests"]:
            seen.setdefault(t["nodeid"], []).append((cid, t))
    tests: dict[str, dict[str, Any]] = {}
    for nodeid, per_clause in seen.items():
        # A failure blamed on some of a test's clauses is FAIL for those only (the others
        # see it UNRESOLVED): the test caught those clauses.
        failed = [cid for cid, t in per_clause if t["status"] == "FAIL"]
        first = next((t for _, t in per_clause if t["status"] == "FAIL"),
                     per_clause[0][1])
        tests[nodeid] = dict(status=first["status"], reason=first["reason"],
                             duration=first["duration"],
                             clauses=failed or [cid for cid, _ in per_clause])
    return tests
