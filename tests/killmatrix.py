"""The kill matrix: the conformance suite run against every mutant of tests/mutants/.

Each mutant is mjit_ref with one protocol bug.  For each one this runs the whole conformance
suite (no ``-x``, so every clause gets its say) in its own pytest process with
``--mjit-engine=tests.mutants.<name>:create_engine`` and a JSON report, then records which
tests and clauses reported the bug.  The reference engine is run the same way first: a test
that fails against the reference catches nothing, it is broken or flaky, and is listed apart.

A test catches a mutant when the suite itself says so: its status is FAIL, or UNRESOLVED
because a harness deadline expired (marked "deadline" in the outputs).  A run that overruns
the per-mutant time limit is interrupted (SIGINT, so pytest still writes its report; then
SIGKILL to the whole process group); it is recorded as TIMEOUT, and only the failures the
suite reported before the interrupt count as catches.

Run from the repository root (``tests.mutants`` must be importable)::

    python -m tests.killmatrix                 # every mutant; writes docs/mutants.{md,json}
    python -m tests.killmatrix --only no_compaction --jobs 1 --cc clang

``--only`` re-runs the named mutants and keeps the other entries of docs/mutants.json.
State-machine mutants (``sm_*``) are not part of the matrix: they are meant for the state
machines, not for the conformance suite.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MUTANTS_DIR = ROOT / "tests" / "mutants"
DOCS = ROOT / "docs"
MATRIX_JSON = DOCS / "mutants.json"
MATRIX_MD = DOCS / "mutants.md"

#: Every run uses the same seed and preset, so a catch can be replayed by tests/test_mutants.py.
SEED = 1
PRESET = "quick"
#: Seconds one whole-suite run may take before it is interrupted.
DEFAULT_TIMEOUT = 900.0
#: Seconds pytest gets after SIGINT to write its report before the group is killed.
INTERRUPT_GRACE = 30.0
#: A mutant caught by more than this share of the clauses that have tests is a blanket
#: mutant: its catches say little about any one clause.
BLANKET_SHARE = 0.5
#: Test statuses (pytest_mjit report) that mean the suite reported a problem.
CATCHING = ("FAIL", "UNRESOLVED")


def mutant_names() -> list[str]:
    """The mutants of the matrix: modules of tests/mutants/ except ``_*`` and ``sm_*``."""
    return sorted(p.stem for p in MUTANTS_DIR.glob("*.py")
                  if not p.stem.startswith(("_", "sm_")))


def summary_of(name: str, directory: Path = MUTANTS_DIR, whole: bool = False) -> str:
    """First paragraph (or, with ``whole``, all) of the docstring of mutant ``name`` of
    ``directory`` on one line, read without importing it."""
    doc = ast.get_docstring(ast.parse((directory / f"{name}.py").read_text())) or ""
    return " ".join((doc if whole else doc.strip().split("\n\n")[0]).split())


def equivalent_reason(name: str, directory: Path = MUTANTS_DIR) -> str | None:
    """Why the mutant cannot be told from mjit_ref, if its module says so with a top-level
    ``EQUIVALENT = "..."``; such a mutant is listed but not required to be caught."""
    return declared(name, "EQUIVALENT", directory)


def declared(name: str, constant: str, directory: Path = MUTANTS_DIR) -> str | None:
    """The string a mutant's module assigns to the top-level ``constant``, read without
    importing it, or None."""
    for node in ast.parse((directory / f"{name}.py").read_text()).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == constant
                and isinstance(node.value, ast.Constant)):
            return str(node.value.value)
    return None


def engine_spec(name: str | None) -> str:
    """``--mjit-engine`` value of a mutant, or of the reference engine for None."""
    return "ref" if name is None else f"tests.mutants.{name}:create_engine"


def suite_command(engine: str, report: Path, cc: str | None,
                  tests: list[str] | None = None) -> list[str]:
    """The pytest command line that runs the conformance suite (or only ``tests``, paths
    with ``::`` test names) against ``engine`` in one process and writes ``report``."""
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
           "-v", "-rN", f"--mjit-engine={engine}", f"--mjit-report={report}",
           f"--mjit-seed={SEED}", f"--mjit-preset={PRESET}"]
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


#: Suite processes running now, so an interrupted matrix can end them all.
_RUNNING: set[subprocess.Popen] = set()
_RUNNING_LOCK = threading.Lock()
_STOPPING = threading.Event()


def _kill_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def kill_running() -> None:
    """SIGKILL the process group of every suite run still going."""
    with _RUNNING_LOCK:
        _STOPPING.set()
        procs = list(_RUNNING)
    for proc in procs:
        _kill_group(proc, signal.SIGKILL)


def run_suite(engine: str, report: Path, cc: str | None, timeout: float,
              tests: list[str] | None = None) -> SuiteRun:
    """Run the suite against ``engine`` in a new process group, at most ``timeout`` seconds.

    On expiry the group gets SIGINT (pytest then writes its report) and, after
    INTERRUPT_GRACE seconds, SIGKILL.  Whatever the outcome, nothing of the group is left
    running when this returns."""
    log_path = report.with_suffix(".log")
    start = time.monotonic()
    timed_out = False
    with open(log_path, "w") as log:
        proc = subprocess.Popen(suite_command(engine, report, cc, tests), cwd=ROOT,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        with _RUNNING_LOCK:
            _RUNNING.add(proc)
            if _STOPPING.is_set():
                _kill_group(proc, signal.SIGKILL)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc, signal.SIGINT)
            try:
                proc.wait(INTERRUPT_GRACE)
            except subprocess.TimeoutExpired:
                _kill_group(proc, signal.SIGKILL)
                proc.wait()
        finally:
            # Compiler or helper processes the run left in its group go too.
            _kill_group(proc, signal.SIGKILL)
            if proc.returncode is None:
                proc.wait()
            with _RUNNING_LOCK:
                _RUNNING.discard(proc)
    outcome = dict(returncode=proc.returncode, timed_out=timed_out, timeout=timeout,
                   duration=time.monotonic() - start)
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
    if outcome["timed_out"]:
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


def clause_key(cid: str) -> tuple[str, int]:
    area, _, num = cid.rpartition("-")
    return area, int(num) if num.isdigit() else 0


def must_clauses() -> dict[str, str]:
    """MUST clause id -> statement, from the clause registry."""
    from pytest_mjit.clauses import CLAUSES
    return {c.id: c.statement for c in CLAUSES.values() if c.must}


def matrix_facts(matrix: dict[str, Any]) -> dict[str, Any]:
    """Derived lists: mutants not caught; blanket mutants (caught by more than
    BLANKET_SHARE of the tested clauses, e.g. through a leak check every test makes); MUST
    clauses that caught no mutant (and whether the suite has a test for them at all); MUST
    clauses that caught only blanket mutants."""
    mutants = matrix["mutants"]
    tested = {c for ref in matrix["references"].values() for c in ref["clauses_with_tests"]}
    blanket = sorted(n for n, m in mutants.items()
                     if len(m["clauses"]) > BLANKET_SHARE * max(1, len(tested)))
    caught_by = {c for m in mutants.values() for c in m["clauses"]}
    caught_specifically = {c for n, m in mutants.items() if n not in blanket
                           for c in m["clauses"]}
    must = must_clauses()
    idle = [dict(id=cid, statement=text, has_tests=cid in tested)
            for cid, text in must.items() if cid not in caught_by]
    only_blanket = [dict(id=cid, statement=text) for cid, text in must.items()
                    if cid in caught_by and cid not in caught_specifically]
    return dict(not_caught=sorted(n for n, m in mutants.items()
                                  if m["outcome"] != "CAUGHT" and not m.get("equivalent")),
                equivalent=sorted(n for n, m in mutants.items() if m.get("equivalent")),
                blanket_mutants=blanket, must_clauses_catching_none=idle,
                must_clauses_catching_only_blanket_mutants=only_blanket)


def markdown(matrix: dict[str, Any]) -> str:
    """docs/mutants.md from the matrix."""
    mutants = matrix["mutants"]
    facts = matrix_facts(matrix)
    caught = len(mutants) - len(facts["not_caught"])
    out = ["# Kill matrix: broken engines the suite must reject", "",
           "Each mutant in `tests/mutants/` is the reference engine with one protocol bug. "
           "The conformance suite is run against each one; a mutant is caught when at least "
           "one test reports FAIL, or UNRESOLVED because a harness deadline expired "
           "(marked *deadline*). Tests that also fail against the reference engine count "
           "for nothing.", "",
           f"Generated by `python -m tests.killmatrix` (preset {matrix['preset']}, seed "
           f"{matrix['seed']}): every mutant runs with gcc, and one that gcc does not catch "
           "runs again with clang. `tests/test_mutants.py` replays each catch from "
           "`docs/mutants.json`.", "",
           f"**{caught} of {len(mutants)} mutants caught.** "
           f"{len(facts['must_clauses_catching_none'])} MUST clauses caught no mutant; "
           f"{len(facts['must_clauses_catching_only_blanket_mutants'])} more caught only "
           "blanket mutants.", "",
           "| Mutant | The bug | Outcome | Caught by clauses | Tests that failed |",
           "|---|---|---|---|---|"]
    for name, m in sorted(mutants.items()):
        outcome, clauses, tests = row_cells(m)
        out.append(f"| `{name}` | {cell(m['summary'])} | {outcome} | {clauses} | {tests} |")
    out += ["", "## Mutants not caught", ""]
    out += [f"- `{n}`: {mutants[n]['outcome']}"
            + (f" ({cell(mutants[n]['problem'])})" if mutants[n]["problem"] else "")
            for n in facts["not_caught"]] or ["None."]
    out += ["", "## Equivalent mutants", "",
            "Their module says no test can tell them from the reference engine "
            "(`EQUIVALENT = \"why\"`); they are not required to be caught.", ""]
    out += [f"- `{n}`: {mutants[n]['outcome']}: {cell(mutants[n]['equivalent'])}"
            for n in facts["equivalent"]] or ["None."]
    out += ["", "## MUST clauses that caught no mutant", ""]
    out += [f"- {c['id']}: {c['statement']}" + ("" if c["has_tests"] else " *(no test yet)*")
            for c in facts["must_clauses_catching_none"]] or ["None."]
    out += ["", "## MUST clauses that caught only blanket mutants", "",
            f"A blanket mutant fails more than {BLANKET_SHARE:.0%} of the clauses that have "
            "tests (" + (", ".join(f"`{n}`" for n in facts["blanket_mutants"]) or "none")
            + "), so its catches do not show that a clause's own tests work.", ""]
    out += [f"- {c['id']}: {c['statement']}"
            for c in facts["must_clauses_catching_only_blanket_mutants"]] or ["None."]
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


def run_matrix(names: list[str], cc: str | None, jobs: int, timeout: float,
               workdir: Path, reuse: bool = False, progress=print, spec=engine_spec,
               tests_of_run=lambda name: None) -> tuple[dict[str, Any], dict[str, SuiteRun]]:
    """Run the reference engine and every mutant of ``names`` (``jobs`` processes at once),
    or with ``reuse`` read the reports an earlier run kept in ``workdir``; return
    (reference facts, mutant name -> run).  ``spec`` gives a mutant's (or, for None, the
    reference's) ``--mjit-engine``, ``tests_of_run`` its pytest arguments selecting tests
    (None: the whole suite)."""
    started = time.monotonic()

    def one(name: str | None) -> SuiteRun:
        label = name or "(reference)"
        report = workdir / f"{name or '_reference'}.json"
        run = load_run(report) if reuse else run_suite(spec(name), report, cc, timeout,
                                                       tests_of_run(name))
        failed = sum(1 for t in run.tests.values() if t["status"] in CATCHING)
        progress(f"[{time.monotonic() - started:6.0f}s] {label}: {failed} failing test(s) "
                 f"in {run.duration:.0f}s" + (f" ({run.problem})" if run.problem else ""))
        return run

    pool = concurrent.futures.ThreadPoolExecutor(max(1, jobs))
    try:
        ref_future = pool.submit(one, None)
        futures = {name: pool.submit(one, name) for name in names}
        ref_run = ref_future.result()
        runs = {name: f.result() for name, f in futures.items()}
    except BaseException:
        # Interrupted (Ctrl-C) or failed: start nothing more and end the runs in flight.
        pool.shutdown(wait=False, cancel_futures=True)
        kill_running()
        raise
    pool.shutdown()
    if ref_run.problem:
        raise SystemExit(f"the reference engine run did not complete: {ref_run.problem}\n"
                         + ref_run.log[-3000:])
    return reference_facts(ref_run), runs


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


def terminated(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.killmatrix",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="run only these mutants; other entries of the JSON are kept")
    parser.add_argument("--jobs", type=int, default=2, help="suite runs at once (default 2)")
    parser.add_argument("--cc", choices=("gcc", "clang"), default=None,
                        help="compiler handed to the suite (default: the suite's choice)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"seconds one suite run may take (default {DEFAULT_TIMEOUT:.0f})")
    parser.add_argument("--keep", metavar="DIR", help="keep the per-run reports and logs here")
    parser.add_argument("--reuse", metavar="DIR",
                        help="run nothing: build the matrix from the reports an earlier "
                             "--keep DIR run left there")
    args = parser.parse_args(argv)
    # SIGTERM (and SIGINT, which a shell's background job ignores) end the runs in flight.
    signal.signal(signal.SIGTERM, terminated)
    signal.signal(signal.SIGINT, terminated)

    current = mutant_names()
    unknown = sorted(set(args.only or ()) - set(current))
    if unknown:
        parser.error(f"no such mutant: {', '.join(unknown)} (known: {', '.join(current)})")
    names = sorted(args.only) if args.only else current

    start = time.monotonic()
    compilers = [args.cc] if args.cc else ["gcc", "clang"]
    entries: dict[str, dict[str, Any]] = {}
    references: dict[str, dict[str, Any]] = {}
    todo = names
    with tempfile.TemporaryDirectory(prefix="mjit-killmatrix-") as tmp:
        for cc in compilers:
            if not todo:
                break
            print(f"-- {len(todo)} mutant(s) with {cc}", flush=True)
            workdir = Path(args.reuse or args.keep or tmp) / cc
            workdir.mkdir(parents=True, exist_ok=True)
            reference, runs = run_matrix(todo, cc, args.jobs, args.timeout, workdir,
                                         reuse=bool(args.reuse),
                                         progress=lambda line: print(line, flush=True))
            references[cc] = reference
            for name, run in runs.items():
                entry = dict(mutant_entry(name, run, reference), cc=cc)
                if name not in entries or entry["outcome"] == "CAUGHT":
                    entries[name] = entry
            # A mutant of one compiler family's path is only visible with that compiler; one
            # that hung is not run again.
            todo = [n for n in todo
                    if entries[n]["outcome"] != "CAUGHT" and not entries[n]["timed_out"]]
    old = json.loads(MATRIX_JSON.read_text()) if MATRIX_JSON.exists() else {}
    mutants = {n: m for n, m in old.get("mutants", {}).items()
               if n in current and args.only}
    mutants.update(entries)
    # The C mutants' rows and their reference (python -m tests.cmatrix) are kept as they are.
    kept_refs = {k: r for k, r in old.get("references", {}).items()
                 if args.only or k.startswith("cruby-")}
    matrix = dict(preset=PRESET, seed=SEED, references=dict(kept_refs, **references),
                  mutants=dict(sorted(mutants.items())),
                  **{k: old[k] for k in ("cmutants", "cmutants_not_caught") if k in old})
    matrix.update(matrix_facts(matrix))
    DOCS.mkdir(exist_ok=True)
    MATRIX_JSON.write_text(json.dumps(matrix, indent=1) + "\n")
    MATRIX_MD.write_text(markdown(matrix))
    facts = matrix_facts(matrix)
    print(f"{len(mutants) - len(facts['not_caught'])} of {len(mutants)} mutants caught; "
          f"not caught: {', '.join(facts['not_caught']) or 'none'}; MUST clauses catching "
          f"none: {len(facts['must_clauses_catching_none'])}, only blanket mutants: "
          f"{len(facts['must_clauses_catching_only_blanket_mutants'])}; "
          f"{time.monotonic() - start:.0f} s; wrote {MATRIX_MD.relative_to(ROOT)} and "
          f"{MATRIX_JSON.relative_to(ROOT)}")
    return 0 if not facts["not_caught"] else 1


if __name__ == "__main__":
    sys.exit(main())
