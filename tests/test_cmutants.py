"""The suite rejects broken C engines: every C mutant of tests/cmutants/ (CRuby 2.7.4's own
mjit.c with one bug) applies to the real checkout exactly, is in the kill matrix
(docs/mutants.json, written by ``python3 -m pytest tests/killmatrix/cmutants.py``) as
caught, and a fast subset of them is caught again by the test that caught it there.

Everything that needs the checkout is skipped when ``../shared/seeds/cruby-2.7.4`` is absent."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # tests.cmutants and tests.cmatrix live in the source tree
    sys.path.insert(0, str(ROOT))

from tests import cmatrix, killmatrix  # noqa: E402
from tests.cmutants import SEED_DIR, CMutant, CMutantError, all_cmutants, mutant_of  # noqa: E402
from tests.test_mutants import _test_path  # noqa: E402

MIN_CMUTANTS = 20
#: Catches replayed in CI, at most REPLAY_COUNT: first, per clause area, the cheapest catch of
#: that area (a plain failure if any, else a harness deadline) within REPLAY_MAX_SECONDS in
#: the matrix; then the fastest plain failures within PLAIN_MAX_SECONDS.
REPLAY_COUNT = 14
REPLAY_MAX_SECONDS = 20.0
PLAIN_MAX_SECONDS = 2.0
#: Attempts of one replay before the mutant counts as no longer caught.
REPLAY_ATTEMPTS = 2

needs_seed = pytest.mark.skipif(not SEED_DIR.is_dir(), reason=f"no CRuby checkout at {SEED_DIR}")


def _matrix() -> dict:
    if not killmatrix.MATRIX_JSON.exists():
        return {}
    return json.loads(killmatrix.MATRIX_JSON.read_text()).get("cmutants") or {}


MATRIX = _matrix()


def catch_of(entry: dict) -> dict | None:
    """The cheapest test that caught a C mutant in the matrix: its fastest plain failure, or
    when it has none its fastest expired deadline."""
    tests = sorted(entry["tests"], key=lambda t: (t["status"] != "FAIL", t["duration"]))
    return tests[0] if tests else None


def replayed() -> list[str]:
    """The C mutants ``test_cmutant_is_still_caught`` replays."""
    ranked = sorted(((t["status"] != "FAIL", t["duration"]), name, t["clauses"][0].split("-")[0])
                    for name, entry in MATRIX.items()
                    if (t := catch_of(entry)) and t["duration"] <= REPLAY_MAX_SECONDS)
    chosen: dict[str, None] = {}
    areas: set[str] = set()
    for _, name, area in ranked:
        if area not in areas:
            areas.add(area)
            chosen[name] = None
    for (deadline, duration), name, _ in ranked:
        if len(chosen) < REPLAY_COUNT and not deadline and duration <= PLAIN_MAX_SECONDS:
            chosen.setdefault(name, None)
    return sorted(chosen)[:REPLAY_COUNT]


@needs_seed
@pytest.mark.parametrize("name", all_cmutants())
def test_cmutant_applies(name):
    """Its snippets still occur exactly once in the checkout (``texts`` raises otherwise),
    and its docstring says what the bug is and which clauses it breaks."""
    mutant = mutant_of(name)
    texts = mutant.texts()
    changed = [f for f, text in texts.items() if text != (SEED_DIR / f).read_text()]
    assert changed == sorted({f for f, _, _ in mutant.edits}), "an edit changed nothing"
    assert killmatrix.summary_of(name, cmatrix.CMUTANTS_DIR), f"{name} has no docstring"
    assert cmatrix.areas_of(name), f"{name}'s docstring names no clause it breaks"


def _checkout(tmp_path: Path) -> Path:
    src = tmp_path / "cruby-9.9.9"
    src.mkdir()
    (src / "mjit.c").write_text("int a;\nint b;\nint b;\n")
    (src / "mjit_worker.c").write_text("static int w;\n")
    (src / "mjit.h").write_text("/* h */\n")
    return src


def test_cmutant_refuses_a_snippet_that_drifted(tmp_path):
    """A snippet that occurs no or several times, an unknown file or no edit at all is one
    clear CMutantError naming the mutant and the file."""
    src = _checkout(tmp_path)
    with pytest.raises(CMutantError, match=r"C mutant drifted: snippet occurs 0 times in "
                                           r"mjit_worker\.c, expected once"):
        CMutant("drifted", (("mjit_worker.c", "int v;", "int w;"),)).texts(src)
    with pytest.raises(CMutantError, match=r"occurs 2 times in mjit\.c"):
        CMutant("twice", (("mjit.c", "int b;", "int c;"),)).texts(src)
    with pytest.raises(CMutantError, match=r"'vm\.c' is not one of the checkout's files"):
        CMutant("elsewhere", (("vm.c", "x", "y"),))
    with pytest.raises(CMutantError, match="no edit given"):
        CMutant("empty", ())
    with pytest.raises(CMutantError, match="no CRuby checkout at"):
        CMutant("nowhere", (("mjit.c", "int a;", ""),)).texts(tmp_path / "missing")


def test_cmutant_writes_a_private_copy_with_only_its_edits(tmp_path):
    """Edits apply in order to a copy named like the checkout (its version suffix kept);
    the checkout is untouched."""
    src = _checkout(tmp_path)
    mutant = CMutant("edits", (("mjit.c", "int a;", "int x;"), ("mjit.c", "int x;", "long x;"),
                               ("mjit_worker.c", "static int w;", "int w;")))
    out = mutant.write(tmp_path / "out", src)
    assert out == tmp_path / "out" / "cruby-9.9.9"
    assert (out / "mjit.c").read_text() == "long x;\nint b;\nint b;\n"
    assert (out / "mjit_worker.c").read_text() == "int w;\n"
    assert (out / "mjit.h").read_text() == "/* h */\n"
    assert (src / "mjit.c").read_text() == "int a;\nint b;\nint b;\n"


def test_enough_cmutants():
    assert len(all_cmutants()) >= MIN_CMUTANTS


def test_matrix_lists_exactly_the_current_cmutants():
    """docs/mutants.json cannot go stale silently: run
    ``python3 -m pytest tests/killmatrix/cmutants.py`` after adding, renaming or removing a C
    mutant."""
    listed, current = set(MATRIX), set(all_cmutants())
    assert not current - listed, (f"C mutants missing from {killmatrix.MATRIX_JSON.name}: "
                                  f"{sorted(current - listed)} (run python3 -m pytest "
                                  "tests/killmatrix/cmutants.py -k ...)")
    assert not listed - current, f"no such C mutants any more: {sorted(listed - current)}"


def test_matrix_says_every_cmutant_is_caught():
    """Every C mutant is caught, except those whose module declares a suite gap."""
    uncaught = {name: m["outcome"] for name, m in MATRIX.items()
                if (m["outcome"] != "CAUGHT" or not m["clauses"] or not m["tests"])
                and not cmatrix.gap_reason(name)}
    assert not uncaught, f"C mutants no clause caught: {uncaught}"


def test_declared_suite_gaps_are_still_gaps():
    """A C mutant declared a suite gap is one the matrix did not catch: once a test catches
    it, its ``SUITE_GAP`` marker goes."""
    closed = [name for name in all_cmutants()
              if cmatrix.gap_reason(name) and MATRIX.get(name, {}).get("outcome") == "CAUGHT"]
    assert not closed, f"caught now, remove SUITE_GAP from: {closed}"


def test_replayed_subset_spans_the_protocol():
    """The CI subset is not one area's: its catches come from at least eight clause areas."""
    areas = {catch_of(MATRIX[name])["clauses"][0].split("-")[0] for name in replayed()}
    assert len(areas) >= 8, areas


@needs_seed
@pytest.mark.parametrize("name", replayed())
def test_cmutant_is_still_caught(name, tmp_path):
    """Replay the catch: the cheapest test that caught the mutant in the matrix catches it
    again (the mutant is built first, once per content hash)."""
    test = catch_of(MATRIX[name])
    budget = 120.0 + 3 * test["duration"]
    tried = []
    for attempt in range(REPLAY_ATTEMPTS):
        run = killmatrix.run_suite(cmatrix.engine_spec(name), tmp_path / f"report{attempt}.json",
                                   MATRIX[name]["cc"], budget, [_test_path(test["nodeid"])])
        status = {n.partition("::")[2]: t["status"] for n, t in run.tests.items()}.get(
            test["nodeid"].partition("::")[2], "NOT RUN")
        if status in killmatrix.CATCHING:
            return
        tried.append(f"attempt {attempt + 1}: {status} {run.problem}")
    pytest.fail(f"{name} is no longer caught by {test['nodeid']}:\n" + "\n".join(tried)
                + f"\n{run.log[-3000:]}")
