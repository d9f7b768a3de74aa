"""Per-clause results, the certificate rule, and the JSON / Markdown / terminal reports."""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from . import _clauses
from ._clauses import AREAS, CLAUSES, Clause
from ._results import FAILED_CLAUSES, STOPPED_AT, Results, TestRecord
from ._text import REASON_LENGTH, markdown_text

__all__ = ["TestRecord", "Results", "clause_status", "certificate", "build_report",
           "write_reports", "write_unfinished", "markdown", "area_lines", "blame", "STATUSES",
           "SCHEMA", "FAILED_CLAUSES", "DEADLINE_REASON"]

SCHEMA = "pytest-mjit-report/1"
#: How the reason of a test whose harness deadline expired begins (the plugin writes it).
DEADLINE_REASON = "harness deadline expired"
STATUSES = ("PASS", "FAIL", "XFAIL", "XPASS", "UNSUPPORTED", "UNRESOLVED")


def blame(item, clauses: Iterable[str]) -> None:
    """Say that the failure about to be raised by test ``item`` (a pytest item) is a failure
    of ``clauses`` only: its other clauses are reported UNRESOLVED for it, not FAIL.  For
    tests that check many clauses at once, such as the protocol machines."""
    ids = [c for c in clauses if c]
    if ids:
        item.user_properties.append((FAILED_CLAUSES, ",".join(ids)))


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
        # A test that stopped at another clause's failure says nothing of this one: the
        # reason comes from a test that does, when one was left unresolved too.
        unresolved = [t.reason for t in tests if t.status == "UNRESOLVED"]
        status, reason = "UNRESOLVED", next(
            (r for r in unresolved if not r.startswith(STOPPED_AT)), unresolved[0])
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
                recorded_sha: str | None, outside_tests: int = 0,
                problems: Iterable[str] = ()) -> tuple[bool, str]:
    """Whether the run certifies the engine, and the one line that says so (or why not).
    ``problems`` are reasons of the run itself (interrupted, crashes not tied to a clause)."""
    why = list(problems)
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
    return True, (f"mjit certificate: GRANTED: all {len(must)} MUST clauses pass on the "
                  "unmodified suite")


def build_report(results: Results, meta: dict[str, Any], expect: dict[str, str],
                 capabilities: Iterable[str] | None, selected: str | None,
                 interrupted: str | None = None, problems: Iterable[str] = ()) -> dict[str, Any]:
    """The report as a JSON-able dict; ``interrupted`` says why the run ended early, if it
    did, and ``problems`` what else went wrong with the run (each withholds the certificate)."""
    problems = list(problems) + ([f"the run was interrupted ({interrupted})"] if interrupted
                                 else [])
    unattributed = results.close(interrupted)
    if unattributed:
        problems.append(f"{unattributed} test(s) crashed before their clauses were known: "
                        + ", ".join(f"{n} ({r})" for n, (_s, r) in sorted(results.orphans.items())))
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
                                meta["suite"]["recorded_sha256"], outside, problems)
    return dict(
        schema=SCHEMA, **meta,
        python=sys.version.split()[0], platform=platform.platform(),
        summary=dict(Counter(statuses.values())),
        must_summary=dict(Counter(s for c, s in statuses.items() if CLAUSES[c].must)),
        clauses=clauses, certificate=dict(granted=granted, line=line), finished=True,
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
    """The report as a Markdown document; text from the engine or a test is escaped."""
    eng = report["engine"]
    name = f"{markdown_text(eng['name'])} {markdown_text(eng['version'])}"
    caps = ", ".join(markdown_text(c) for c in eng["capabilities"]) or "none"
    out = [f"# pytest-mjit report: {name}", "",
           f"- engine: {markdown_text(eng['spec'], 200)} ({name}), capabilities: {caps}",
           f"- suite: {report['suite']['version']}, sha256 `{report['suite']['sha256']}`",
           "- compilers: " + ", ".join(f"{markdown_text(c['version'])} "
                                       f"({markdown_text(c['path'], 200)})"
                                       for c in report["compilers"]),
           f"- seed: {report['seed']}, preset: {report['preset']}, python {report['python']}",
           f"- duration: {report['timings']['duration']:.2f}s", "",
           f"**{report['certificate']['line']}**", "",
           "| Clause | Strength | Area | Status | Tests | Reason |",
           "|---|---|---|---|---|---|"]
    for cid, c in report["clauses"].items():
        tests = "<br>".join(f"{markdown_text(t['nodeid'], 300)} {t['status']}"
                            for t in c["tests"]) or "-"
        reason = markdown_text(c["reason"], REASON_LENGTH)
        out.append(f"| {cid} | {c['strength']} | {c['area']} | {c['status']} | {tests} "
                   f"| {reason} |")
    return "\n".join(out) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` in one step: readers see the old or the new file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _markdown_path(path: Path) -> Path:
    return path.with_suffix(".md") if path.suffix != ".md" else path.with_name(path.name + ".md")


def write_reports(report: dict[str, Any], path: Path) -> Path:
    """Write the JSON report to ``path`` and the Markdown one beside it, each atomically;
    return the latter."""
    md = _markdown_path(path)
    _write_atomic(md, markdown(report))
    _write_atomic(path, json.dumps(report, indent=2, sort_keys=False) + "\n")
    return md


def write_unfinished(path: Path, meta: dict[str, Any]) -> None:
    """Mark the report paths at the start of a run: until the run writes its report, they
    hold a report of an unfinished run, never a previous run's certificate."""
    line = ("mjit certificate: NOT GRANTED: the run did not finish (it was started at "
            f"{meta['timings']['start']:.0f} and ended before writing its report)")
    report = dict(schema=SCHEMA, **meta, python=sys.version.split()[0],
                  platform=platform.platform(), finished=False, summary={}, must_summary={},
                  clauses={}, certificate=dict(granted=False, line=line))
    write_reports(report, path)
