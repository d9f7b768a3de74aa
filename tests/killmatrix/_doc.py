"""docs/mutants.json entries and docs/mutants.md from the suite runs of the kill matrix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._meta import CATCHING, MUTANTS_DIR, clause_key, equivalent_reason, summary_of
from ._run import SuiteRun

#: A mutant caught by more than this share of the clauses that have tests is a blanket
#: mutant: its catches say little about any one clause.
BLANKET_SHARE = 0.5

def catching_tests(run: SuiteRun, reference: dict[str, Any]) -> list[dict[str, Any]]:
    """Tests of ``run`` that caught the engine (FAIL or UNRESOLVED), except those that also
    fail against the reference engine; sorted with plain failures first, then fastest."""
    broken_on_ref = set(reference["failing_tests"])
    clauses_of = reference["test_clauses"]
    found = [dict(nodeid=nodeid, **dict(rec, clauses=rec["clauses"] or clauses_of.get(nodeid, [])))
             for nodeid, rec in run.tests.items()
             if rec["status"] in CATCHING and nodeid not in broken_on_ref]
    return sorted(found, key=lambda t: (t["status"] != "FAIL", t["duration"], t["nodeid"]))


def mutant_entry(name: str, run: SuiteRun, reference: dict[str, Any],
                 directory: Path = MUTANTS_DIR) -> dict[str, Any]:
    """The docs/mutants.json entry of one mutant of ``directory``."""
    tests = catching_tests(run, reference)
    clauses = sorted({c for t in tests for c in t["clauses"]}, key=clause_key)
    deadline_only = sorted({c for c in clauses
                            if all(t["status"] == "UNRESOLVED" for t in tests
                                   if c in t["clauses"])}, key=clause_key)
    if tests:
        outcome = "CAUGHT"
    elif run.timed_out:
        outcome = "TIMEOUT"
    elif run.problem:
        outcome = "ERROR"
    else:
        outcome = "NOT CAUGHT"
    return dict(summary=summary_of(name, directory), outcome=outcome,
                equivalent=equivalent_reason(name, directory), timed_out=run.timed_out,
                problem=run.problem, duration=round(run.duration, 1), clauses=clauses,
                deadline_clauses=deadline_only,
                tests=[dict(nodeid=t["nodeid"], status=t["status"], clauses=t["clauses"],
                            duration=t["duration"], reason=t["reason"][:300]) for t in tests])


def must_clauses() -> dict[str, str]:
    """MUST clause id -> statement, from the clause registry."""
    from pytest_mjit.clauses import CLAUSES
    return {c.id: c.statement for c in CLAUSES.values() if c.must}


def full_rows(matrix: dict[str, Any]) -> bool:
    """Whether every mutant's row ran the whole suite (rows of a fast run stop at the first
    catch, so which clauses catch nothing cannot be told from them)."""
    return all(m.get("mode", "full") == "full" for m in matrix["mutants"].values())


def matrix_facts(matrix: dict[str, Any]) -> dict[str, Any]:
    """Derived lists: mutants not caught; and, when every row ran the whole suite, blanket
    mutants (caught by more than BLANKET_SHARE of the tested clauses, e.g. through a leak
    check every test makes), MUST clauses that caught no mutant (and whether the suite has a
    test for them at all), MUST clauses that caught only blanket mutants (None otherwise)."""
    mutants = matrix["mutants"]
    facts: dict[str, Any] = dict(
        not_caught=sorted(n for n, m in mutants.items()
                          if m["outcome"] != "CAUGHT" and not m.get("equivalent")),
        equivalent=sorted(n for n, m in mutants.items() if m.get("equivalent")),
        blanket_mutants=None, must_clauses_catching_none=None,
        must_clauses_catching_only_blanket_mutants=None)
    if not full_rows(matrix):
        return facts
    tested = {c for ref in matrix["references"].values() for c in ref["clauses_with_tests"]}
    blanket = sorted(n for n, m in mutants.items()
                     if len(m["clauses"]) > BLANKET_SHARE * max(1, len(tested)))
    caught_by = {c for m in mutants.values() for c in m["clauses"]}
    caught_specifically = {c for n, m in mutants.items() if n not in blanket
                           for c in m["clauses"]}
    must = must_clauses()
    return dict(facts, blanket_mutants=blanket, must_clauses_catching_none=[
        dict(id=cid, statement=text, has_tests=cid in tested)
        for cid, text in must.items() if cid not in caught_by],
        must_clauses_catching_only_blanket_mutants=[
            dict(id=cid, statement=text) for cid, text in must.items()
            if cid in caught_by and cid not in caught_specifically])


RECIPE = """\
## Running it

The matrix is a pytest session: one item per mutant and one per conformance file run against
the reference engine, each running the suite in a pytest process of its own.  Rows are cached
in `.killmatrix/` (`--km-cache=DIR`), keyed by the mutant's module, the mjit_ref files it
patches and the suite hash; a session runs only stale rows (`--km-force` runs them all) and
its controller rewrites this file and `docs/mutants.json` from every cached row at the end.
A run whose log shows no progress for 50 s (`--km-idle`) is killed, SIGINT and then, 10 s
later, SIGKILL: a mutant that hangs costs at most a minute, and the test it hung in counts as
UNRESOLVED (hung). A protocol machine may stay silent for ten minutes.

    python3 -m pytest tests/killmatrix/matrix.py -n 2                # fast rows
    python3 -m pytest tests/killmatrix/matrix.py -n 4                # 2 cores: rows mostly wait
    python3 -m pytest tests/killmatrix/matrix.py -n 2 --km-full      # full rows
    python3 -m pytest tests/killmatrix/matrix.py -n 2 -k no_compaction   # one row
    python3 -m pytest tests/killmatrix/matrix.py --tx 2*popen//python=python3 --dist load

Across machines, each `--tx` gateway is one worker; the repository must be at the same path on
every machine, or be sent there (`--rsyncdir`), and gcc and clang installed there:

    python3 -m pytest tests/killmatrix/matrix.py --dist load \\
        --tx 2*ssh=build1//python=python3//chdir=/src/pytest-mjit \\
        --tx 2*ssh=build2//python=python3//chdir=/src/pytest-mjit

Rows travel back to the controller in the test reports, so only the controller's checkout
needs the cache and gets the documents.
"""


def markdown(matrix: dict[str, Any]) -> str:
    """docs/mutants.md from the matrix."""
    mutants = matrix["mutants"]
    facts = matrix_facts(matrix)
    caught = len(mutants) - len(facts["not_caught"])
    fast = sorted(n for n, m in mutants.items() if m.get("mode", "full") == "fast")
    if facts["must_clauses_catching_none"] is None:
        clause_line = (f"{len(fast)} of the rows are fast rows, so the clauses that catch no "
                       "mutant are not counted (they need `--km-full`).")
    else:
        clause_line = (f"{len(facts['must_clauses_catching_none'])} MUST clauses caught no "
                       f"mutant; {len(facts['must_clauses_catching_only_blanket_mutants'])} "
                       "more caught only blanket mutants.")
    out = ["# Kill matrix: broken engines the suite must reject", "",
           "Each mutant in `tests/mutants/` is the reference engine with one protocol bug. "
           "The conformance suite is run against each one; a mutant is caught when at least "
           "one test reports FAIL, or UNRESOLVED because a harness deadline expired or the "
           "test hung (marked *deadline*). Tests that also fail against the reference engine "
           "count for nothing.", "",
           "A row is one of two kinds (column *Run*). A **fast** row ran the tests of the "
           "clauses the mutant's docstring says it breaks (\"Breaks QUEUE-6\") first, then "
           "the rest of their areas, then the rest of the suite, protocol machines last, and "
           "stopped at the first catch: its clauses and tests are that one catch, not every "
           "test that would catch the mutant. A **full** row ran the whole suite and lists "
           "every catching test. Each mutant runs with gcc first (clang first when its "
           "docstring says \"(clang)\") and with the other compiler when the first catches "
           "nothing.", "",
           f"Generated by `python3 -m pytest tests/killmatrix/matrix.py` (preset "
           f"{matrix['preset']}, seed {matrix['seed']}). `tests/test_mutants.py` replays "
           "each catch from `docs/mutants.json`.", "",
           RECIPE,
           "## The matrix", "",
           f"**{caught} of {len(mutants)} mutants caught.** {clause_line}", "",
           "| Mutant | The bug | Run | Outcome | Caught by clauses | Tests that failed |",
           "|---|---|---|---|---|---|"]
    for name, m in sorted(mutants.items()):
        outcome, clauses, tests = row_cells(m)
        out.append(f"| `{name}` | {cell(m['summary'])} | {m.get('mode', 'full')} | {outcome} "
                   f"| {clauses} | {tests} |")
    out += ["", "## Mutants not caught", ""]
    out += [f"- `{n}`: {mutants[n]['outcome']}"
            + (f" ({cell(mutants[n]['problem'])})" if mutants[n]["problem"] else "")
            for n in facts["not_caught"]] or ["None."]
    out += ["", "## Equivalent mutants", "",
            "Their module says no test can tell them from the reference engine "
            "(`EQUIVALENT = \"why\"`); they are not required to be caught.", ""]
    out += [f"- `{n}`: {mutants[n]['outcome']}: {cell(mutants[n]['equivalent'])}"
            for n in facts["equivalent"]] or ["None."]
    if facts["must_clauses_catching_none"] is None:
        out += ["", "## MUST clauses that caught no mutant", "",
                "Not counted: fast rows stop at their first catch. Run with `--km-full`."]
        return _tail(matrix, out)
    out += ["", "## MUST clauses that caught no mutant", ""]
    out += [f"- {c['id']}: {c['statement']}" + ("" if c["has_tests"] else " *(no test yet)*")
            for c in facts["must_clauses_catching_none"]] or ["None."]
    out += ["", "## MUST clauses that caught only blanket mutants", "",
            f"A blanket mutant fails more than {BLANKET_SHARE:.0%} of the clauses that have "
            "tests (" + (", ".join(f"`{n}`" for n in facts["blanket_mutants"]) or "none")
            + "), so its catches do not show that a clause's own tests work.", ""]
    out += [f"- {c['id']}: {c['statement']}"
            for c in facts["must_clauses_catching_only_blanket_mutants"]] or ["None."]
    return _tail(matrix, out)


def _tail(matrix: dict[str, Any], out: list[str]) -> str:
    """``out`` with the sections on the reference engine and the C mutants added."""
    out += ["", "## Tests that fail against the reference engine", "",
            "These count for no catch until they pass against `mjit_ref`.", ""]
    out += [f"- `{t}` ({cc})" for cc, ref in sorted(matrix["references"].items())
            for t in ref["failing_tests"]] or ["None."]
    from tests.cmatrix import markdown_section  # the C mutants' rows, when there are any
    out += markdown_section(matrix)
    return "\n".join(out) + "\n"


def row_cells(m: dict[str, Any]) -> tuple[str, str, str]:
    """The outcome, clauses and tests cells of a mutant's row in docs/mutants.md."""
    clauses = ", ".join(c + (" (deadline)" if c in m["deadline_clauses"] else "")
                        for c in m["clauses"]) or "-"
    tests = "<br>".join(f"`{t['nodeid'].split('::')[-1]}`"
                        + (" (deadline)" if t["status"] == "UNRESOLVED" else "")
                        for t in m["tests"]) or "-"
    outcome = m["outcome"] + (" (run timed out)" if m["timed_out"] and m["tests"] else "")
    outcome += f" with {m['cc']}" if m["outcome"] == "CAUGHT" else ""
    return outcome, clauses, tests


def cell(text: str) -> str:
    """``text`` made safe for one cell of a markdown table."""
    return text.replace("|", "\\|").replace("\n", " ")


def reference_facts(ref_run: SuiteRun) -> dict[str, Any]:
    """What the matrix keeps of a reference run: the tests that fail against it (they catch
    nothing) and the clauses each test covers."""
    return dict(
        duration=round(ref_run.duration, 1),
        failing_tests=sorted(n for n, t in ref_run.tests.items() if t["status"] in CATCHING),
        clauses_with_tests=sorted({c for t in ref_run.tests.values() for c in t["clauses"]},
                                  key=clause_key),
        test_count=len(ref_run.tests),
        test_clauses={n: t["clauses"] for n, t in sorted(ref_run.tests.items())})


