"""Per-test results gathered from pytest's reports.  A test is PASS only once its call phase
completed and passed; a test that crashed, was interrupted or never ran is never PASS."""

from __future__ import annotations

import dataclasses
import signal

__all__ = ["TestRecord", "Results", "exit_description", "CRASH_PHASE", "PENDING",
           "FAILED_CLAUSES"]

#: User property of a failed test naming the clauses (of its own) whose check failed.
FAILED_CLAUSES = "mjit_failed_clauses"

#: The ``when`` of the report xdist makes for a test whose worker died.
CRASH_PHASE = "???"
#: Status of a test whose call phase has not completed (yet); never reported as such.
PENDING = "PENDING"
NEVER_RAN = "the test never completed its call phase"


#: The reason a clause is UNRESOLVED for a test that failed on other clauses first: the test
#: says nothing about this clause.
STOPPED_AT = "the test stopped at a failure of"


@dataclasses.dataclass
class TestRecord:
    """What one test did: PASS, FAIL, UNRESOLVED, UNSUPPORTED or SKIP."""

    nodeid: str
    clauses: list[str]
    in_suite: bool = False
    status: str = PENDING
    reason: str = NEVER_RAN
    duration: float = 0.0
    ran: bool = False
    #: for a FAIL: the clauses the test blamed (empty: all of its clauses failed)
    failed: list[str] = dataclasses.field(default_factory=list)

    def for_clause(self, clause_id: str) -> "TestRecord":
        """This record as seen by one of its clauses: a failure blamed on other clauses
        leaves this one UNRESOLVED (the test stopped before checking it to the end)."""
        if self.status != "FAIL" or not self.failed or clause_id in self.failed:
            return self
        return dataclasses.replace(self, status="UNRESOLVED", reason=(
            f"{STOPPED_AT} {', '.join(self.failed)}"))


def exit_description(returncode: int | None) -> str:
    """``killed by signal 11 (SIGSEGV)`` / ``exit status 3`` for a process's return code."""
    if returncode is None:
        return "exit status unknown"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "unknown signal"
        return f"killed by signal {-returncode} ({name})"
    return f"exit status {returncode}"


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason


def _first_line(report) -> str:
    text = getattr(report, "longreprtext", "") or ""
    for line in text.splitlines():
        if line.startswith("E "):
            return line[1:].strip()
    return text.strip().splitlines()[-1] if text.strip() else ""


def _failure(report, props: dict[str, str]) -> tuple[str, str]:
    """(status, reason) of a failed report."""
    if props.get("mjit_unresolved"):
        return "UNRESOLVED", props["mjit_unresolved"]
    if report.when == CRASH_PHASE:
        how = props.get("mjit_crash", "exit status unknown")
        worker = getattr(getattr(getattr(report, "node", None), "gateway", None), "id", "?")
        # The harness watchdog ends a worker whose test outlived its deadline with SIGKILL.
        status = "UNRESOLVED" if how.startswith("killed by signal 9 ") else "FAIL"
        return status, f"crashed: worker {worker} died while running the test ({how})"
    return "FAIL", f"{report.when}: {props.get('mjit_reason') or _first_line(report)}"


class Results:
    """Test records gathered from test reports (on the xdist controller too).

    ``expected`` holds every clause test the run selected (from collection, or from the
    xdist workers), so that a test without any report is not forgotten."""

    def __init__(self) -> None:
        self.tests: dict[str, TestRecord] = {}
        self.expected: dict[str, tuple[list[str], bool]] = {}
        #: crash reports of tests whose clauses were not known when they came in
        self.orphans: dict[str, tuple[str, str]] = {}

    def expect(self, nodeid: str, clauses: list[str], in_suite: bool) -> None:
        self.expected[nodeid] = (list(clauses), bool(in_suite))

    def add(self, report) -> None:
        props = dict(report.user_properties)
        clauses = [c for c in props.get("mjit_clauses", "").split(",") if c]
        rec = self.tests.get(report.nodeid)
        if rec is None and not clauses:
            if report.failed and report.when == CRASH_PHASE:
                self.orphans[report.nodeid] = _failure(report, props)
            return
        if rec is None:
            rec = self.tests[report.nodeid] = TestRecord(
                report.nodeid, clauses, in_suite=props.get("mjit_suite") == "1")
        rec.duration += report.duration
        if report.when == "call":
            rec.ran = True
        if report.failed:
            if rec.status not in ("FAIL", "UNRESOLVED"):
                rec.status, rec.reason = _failure(report, props)
                blamed = [c for c in props.get(FAILED_CLAUSES, "").split(",") if c]
                # A blame naming a clause the test is not tagged with blames them all.
                rec.failed = blamed if blamed and set(blamed) <= set(clauses or rec.clauses) else []
        elif report.skipped and rec.status in (PENDING, "PASS"):
            if hasattr(report, "wasxfail"):
                rec.status, rec.reason = "FAIL", f"marked xfail: {report.wasxfail}"
            else:
                reason = _skip_reason(report)
                rec.status = "UNSUPPORTED" if reason.startswith("UNSUPPORTED") else "SKIP"
                rec.reason = reason
        elif report.when == "call" and rec.status == PENDING:
            rec.status, rec.reason = "PASS", ""

    def close(self, interrupted: str | None = None) -> int:
        """Settle every test at the end of the run: a test that never completed its call
        phase is UNRESOLVED, a crash is tied to its clauses through ``expected``.  Returns
        how many crashed tests could not be tied to clauses."""
        for nodeid, (status, reason) in list(self.orphans.items()):
            if nodeid in self.expected:
                clauses, in_suite = self.expected[nodeid]
                self.tests[nodeid] = TestRecord(nodeid, clauses, in_suite, status, reason)
                del self.orphans[nodeid]
        for nodeid, (clauses, in_suite) in self.expected.items():
            self.tests.setdefault(nodeid, TestRecord(nodeid, clauses, in_suite))
        for rec in self.tests.values():
            if rec.status == PENDING:
                rec.status = "UNRESOLVED"
                rec.reason = NEVER_RAN + (f" ({interrupted})" if interrupted else "")
        return len(self.orphans)
