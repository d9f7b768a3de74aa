"""Per-clause results, the certificate rule, and the JSON / Markdown / terminal reports."""

from __future__ import annotations

import dataclasses
import json
import platform
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from . import _clauses
from ._clauses import AREAS, CLAUSES, Clause

__all__ = ["TestRecord", "Results", "clause_status", "certificate", "build_report",
           "write_reports", "markdown", "area_lines", "blame", "STATUSES", "SCHEMA",
           "FAILED_CLAUSES"]

SCHEMA = "pytest-mjit-report/1"
#: How the reason of a test whose harness deadline expired begins (plugin.py writes it).
DEADLINE_REASON = "harness deadline expired"
STATUSES = ("PASS", "FAIL", "XFAIL", "XPASS", "UNSUPPORTED", "UNRESOLVED")
#: User property of a failed test naming the clauses (of its own) whose check failed.
FAILED_CLAUSES = "mjit_failed_clauses"


def blame(item, clauses: Iterable[str]) -> None:
    """Say that the failure about to be raised by test ``item`` (a pytest item) is a failure
    of ``clauses`` only: its other clauses are reported UNRESOLVED for it, not FAIL.  For
    tests that check many clauses at once, such as the protocol machines."""
    ids = [c for c in clauses if c]
    if ids:
        item.user_properties.append((FAILED_CLAUSES, ",".join(ids)))


@dataclasses.dataclass
class TestRecord:
    """What one test did: PASS, FAIL, UNRESOLVED, UNSUPPORTED or SKIP."""

    nodeid: str
    clauses: list[str]
    in_suite: bool = False
    status: str = "PASS"
    reason: str = ""
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
            f"the test stopped at a failure of {', '.join(self.failed)}"))


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


class Results:
    """Test records gathered from test reports (on the xdist controller too)."""

    def __init__(self) -> None:
        self.tests: dict[str, TestRecord] = {}

    def add(self, report) -> None:
        props = dict(report.user_properties)
        clauses = [c for c in props.get("mjit_clauses", "").split(",") if c]
        if not clauses:
            return
        rec = self.tests.setdefault(report.nodeid, TestRecord(
            report.nodeid, clauses, in_suite=props.get("mjit_suite") == "1"))
        rec.duration += report.duration
        if report.when == "call":
            rec.ran = True
        if report.failed:
            unresolved = props.get("mjit_unresolved")
            if rec.status not in ("FAIL", "UNRESOLVED"):
                rec.status = "UNRESOLVED" if unresolved else "FAIL"
                rec.reason = unresolved or f"{report.when}: {_first_line(report)}"
                blamed = [c for c in props.get(FAILED_CLAUSES, "").split(",") if c]
                # A blame naming a clause the test is not tagged with blames them all.
                rec.failed = blamed if blamed and set(blamed) <= set(clauses) else []
        elif report.skipped and rec.status == "PASS":
            if hasattr(report, "wasxfail"):
                rec.status, rec.reason = "FAIL", f"marked xfail: {report.wasxfail}"
            else:
                reason = _skip_reason(report)
                rec.status = "UNSUPPORTED" if reason.startswith("UNSUPPORTED") else "SKIP"
                rec.reason = reason


def clause_status(clause: Clause, tests: list[TestRecord], expected: str | None,
                  capabilities: Iterable[str] | None) -> tuple[str, str]:
    """(status, reason) of a clause from its tests and the expectation file."""
    statuses = {t.status for t in tests}
    if capabilities is not None and clause.capability and clause.capability not in capabilities:
        status, reason = "UNSUPPORTED", f"engine does not claim {clause.capability!r}"
    elif not tests:
        status, reason = "UNRESOLVED", "no test ran for it"
    elif "FAIL" in statuses:
        status, reason = "FAIL", next(t.reason for t in tests if t.status == "FAIL")
    elif "UNRESOLVED" in statuses:
        status, reason = "UNRESOLVED", next(t.reason for t in tests if t.status == "UNRESOLVED")
    elif "UNSUPPORTED" in statuses:
        status, reason = "UNSUPPORTED", next(t.reason for t in tests if t.status == "UNSUPPORTED")
    elif "PASS" in statuses:
        status, reason = "PASS", ""
    else:
        status, reason = "UNRESOLVED", "every test of it was skipped"
    if expected is not None:
        # A documented departure may show as a wait that never ends (the engine never does
        # what the clause asks): an expired deadline of a listed clause is expected too.
        if status == "FAIL" or (status == "UNRESOLVED" and reason.startswith(DEADLINE_REASON)):
            status, reason = "XFAIL", f"expected: {expected} ({reason})"
        elif status == "PASS":
            status, reason = "XPASS", f"expected to fail: {expected}"
    return status, reason


def certificate(statuses: dict[str, str], expect: dict[str, str], suite_sha: str | None,
                recorded_sha: str | None, outside_tests: int = 0) -> tuple[bool, str]:
    """Whether the run certifies the engine, and the one line that says so (or why not)."""
    why = []
    must = [c for c in CLAUSES.values() if c.must]
    bad = Counter(statuses.get(c.id, "UNRESOLVED") for c in must
                  if statuses.get(c.id) != "PASS")
    if bad:
        why.append(f"{sum(bad.values())} of {len(must)} MUST clauses not PASS ("
                   + ", ".join(f"{n} {s}" for s, n in sorted(bad.items())) + ")")
    expected_must = sorted(c for c in expect if CLAUSES[c].must)
    if expected_must:
        why.append("expectation file lists MUST clauses: " + ", ".join(expected_must))
    if suite_sha is None:
        why.append("the conformance suite is not installed")
    elif recorded_sha is None:
        why.append("no recorded hash for the conformance suite")
    elif suite_sha != recorded_sha:
        why.append("the conformance suite is modified (hash differs from SUITE_HASH)")
    if outside_tests:
        why.append(f"{outside_tests} clause test(s) from outside the conformance suite took part")
    if why:
        return False, "mjit certificate: NOT GRANTED: " + "; ".join(why)
    return True, f"mjit certificate: GRANTED: all {len(must)} MUST clauses pass on the unmodified suite"


def build_report(results: Results, meta: dict[str, Any], expect: dict[str, str],
                 capabilities: Iterable[str] | None, selected: str | None) -> dict[str, Any]:
    """The report as a JSON-able dict."""
    by_clause: dict[str, list[TestRecord]] = {}
    for rec in results.tests.values():
        for cid in rec.clauses:
            by_clause.setdefault(cid, []).append(rec.for_clause(cid))
    caps = None if capabilities is None else set(capabilities)
    clauses, statuses = {}, {}
    for clause in CLAUSES.values():
        if selected and not _clauses.matches(clause.id, selected):
            continue
        tests = by_clause.get(clause.id, [])
        status, reason = clause_status(clause, tests, expect.get(clause.id), caps)
        statuses[clause.id] = status
        clauses[clause.id] = dict(
            area=clause.area, strength=clause.strength, capability=clause.capability,
            statement=clause.statement, since=clause.since, status=status, reason=reason,
            tests=[dict(nodeid=t.nodeid, status=t.status, reason=t.reason,
                        duration=round(t.duration, 4)) for t in tests])
    outside = sum(1 for t in results.tests.values() if not t.in_suite)
    granted, line = certificate(statuses, expect, meta["suite"]["sha256"],
                                meta["suite"]["recorded_sha256"], outside)
    return dict(
        schema=SCHEMA, **meta,
        python=sys.version.split()[0], platform=platform.platform(),
        summary=dict(Counter(statuses.values())),
        must_summary=dict(Counter(s for c, s in statuses.items() if CLAUSES[c].must)),
        clauses=clauses, certificate=dict(granted=granted, line=line),
    )


def area_lines(report: dict[str, Any]) -> list[str]:
    """One terminal line per area: counts of each status."""
    lines = []
    for area, title in AREAS.items():
        counts = Counter(c["status"] for c in report["clauses"].values() if c["area"] == area)
        if counts:
            text = "  ".join(f"{s} {counts[s]}" for s in STATUSES if counts[s])
            lines.append(f"{area:<10} {title:<24} {text}")
    return lines


def markdown(report: dict[str, Any]) -> str:
    """The report as a Markdown document."""
    eng = report["engine"]
    out = [f"# pytest-mjit report: {eng['name']} {eng['version']}", "",
           f"- engine: `{eng['spec']}` ({eng['name']} {eng['version']}), capabilities: "
           + (", ".join(eng["capabilities"]) or "none"),
           f"- suite: {report['suite']['version']}, sha256 `{report['suite']['sha256']}`",
           "- compilers: " + ", ".join(f"{c['version']} (`{c['path']}`)" for c in report["compilers"]),
           f"- seed: {report['seed']}, preset: {report['preset']}, python {report['python']}",
           f"- duration: {report['timings']['duration']:.2f}s", "",
           f"**{report['certificate']['line']}**", "",
           "| Clause | Strength | Area | Status | Tests | Reason |",
           "|---|---|---|---|---|---|"]
    for cid, c in report["clauses"].items():
        tests = "<br>".join(f"`{t['nodeid']}` {t['status']}" for t in c["tests"]) or "-"
        reason = c["reason"].replace("|", "\\|").replace("\n", " ")
        out.append(f"| {cid} | {c['strength']} | {c['area']} | {c['status']} | {tests} | {reason} |")
    return "\n".join(out) + "\n"


def write_reports(report: dict[str, Any], path: Path) -> Path:
    """Write the JSON report to ``path`` and the Markdown one beside it; return the latter."""
    path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
    md = path.with_suffix(".md") if path.suffix != ".md" else path.with_name(path.name + ".md")
    md.write_text(markdown(report))
    return md
