"""The suite rejects broken engines: every mutant in tests/mutants/ loads, is in the kill
matrix (docs/mutants.json, written by ``python3 -m pytest tests/killmatrix/matrix.py``), and
is still caught when the tests that caught it there are run against it again."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # tests.mutants and tests.killmatrix live in the source tree
    sys.path.insert(0, str(ROOT))

from pytest_mjit.clauses import suite_dir  # noqa: E402
from tests import killmatrix  # noqa: E402
from tests.mutants import all_mutants  # noqa: E402

MIN_MUTANTS = 30
#: At most this many of a mutant's plain failures are replayed (the fastest ones); a mutant
#: caught only by expired deadlines replays one of those (each takes a deadline's length).
REPLAYED_FAILURES = 2
#: Replays of one mutant before it counts as no longer caught.
REPLAY_ATTEMPTS = 3


def _matrix() -> dict:
    if not killmatrix.MATRIX_JSON.exists():
        return {"mutants": {}}
    return json.loads(killmatrix.MATRIX_JSON.read_text())


MATRIX = _matrix()


@pytest.mark.parametrize("name", all_mutants())
def test_mutant_loads(name):
    """Its snippet still occurs exactly once in mjit_ref (``mutate`` raises otherwise)."""
    module = importlib.import_module(f"tests.mutants.{name}")
    assert callable(module.create_engine)
    assert killmatrix.summary_of(name), f"{name} has no docstring saying what its bug is"


def test_mutate_refuses_a_snippet_that_drifted():
    """A snippet that does not occur exactly once names the mutant and the file, so a
    mutant never silently becomes the reference engine."""
    from tests.mutants import MutantError, mutate
    with pytest.raises(MutantError, match=r"mutant drifted: snippet occurs 0 times in "
                                          r"mjit_ref/_worker\.py"):
        mutate("drifted", "_worker.py", old="no such line\n", new="")
    with pytest.raises(MutantError, match=r"occurs 0 times in mjit_ref/_engine\.py"):
        mutate("drifted_later", edits=(("_worker.py", "def worker_main(", "def worker_main("),
                                       ("_engine.py", "no such line\n", "")))
    with pytest.raises(MutantError, match="no edit given"):
        mutate("empty")


def test_mutate_applies_edits_in_order_to_a_private_copy():
    """Several edits, two to one file, give one private package; mjit_ref is untouched."""
    import mjit_ref
    from tests.mutants import mutate
    create = mutate("edits_in_order", edits=(
        ("_lifecycle.py", 'WORKER_THREAD_NAME = "mjit-worker"', 'WORKER_THREAD_NAME = "a"'),
        ("_lifecycle.py", 'WORKER_THREAD_NAME = "a"', 'WORKER_THREAD_NAME = "b"'),
        ("_log.py", '"""Verbose and warning', '"""Edited. Verbose and warning'),
    ))
    copy = sys.modules["_mjit_mutant_edits_in_order"]
    assert create is copy.create_engine and create is not mjit_ref.create_engine
    assert copy._lifecycle.WORKER_THREAD_NAME == "b"
    assert copy._log.__doc__.startswith("Edited. ")
    assert mjit_ref._lifecycle.WORKER_THREAD_NAME == "mjit-worker"


def test_enough_mutants():
    assert len(killmatrix.mutant_names()) >= MIN_MUTANTS


def test_matrix_lists_exactly_the_current_mutants():
    """docs/mutants.json cannot go stale silently: re-run the kill matrix after adding,
    renaming or removing a mutant."""
    listed = set(MATRIX["mutants"])
    current = set(killmatrix.mutant_names())
    assert not current - listed, (f"mutants missing from {killmatrix.MATRIX_JSON.name}: "
                                  f"{sorted(current - listed)} (run python3 -m pytest "
                                  "tests/killmatrix/matrix.py)")
    assert not listed - current, f"no such mutants any more: {sorted(listed - current)}"


def test_matrix_says_every_mutant_is_caught():
    uncaught = {name: m["outcome"] for name, m in MATRIX["mutants"].items()
                if (m["outcome"] != "CAUGHT" or not m["clauses"] or not m["tests"])
                and not killmatrix.equivalent_reason(name)}
    assert not uncaught, f"mutants no clause caught: {uncaught}"


def _test_path(nodeid: str) -> str:
    """A report node id (``conformance/test_x.py::name``) as a path to the installed suite."""
    file, _, name = nodeid.partition("::")
    return f"{suite_dir() / Path(file).name}::{name}"


@pytest.mark.parametrize("name", sorted(MATRIX["mutants"]))
def test_mutant_is_still_caught(name, tmp_path):
    """Replay the catch: the fastest tests that caught the mutant in the matrix fail again."""
    entry = MATRIX["mutants"][name]
    if name not in killmatrix.mutant_names():
        pytest.fail(f"{name} is in the matrix but not in tests/mutants/")
    if killmatrix.equivalent_reason(name) and entry["outcome"] != "CAUGHT":
        pytest.skip(f"equivalent mutant: {killmatrix.equivalent_reason(name)}")
    failures = [t for t in entry["tests"] if t["status"] == "FAIL"]
    replay = failures[:REPLAYED_FAILURES] or entry["tests"][:1]
    assert replay, f"the matrix records no test catching {name}"
    # Room for pytest, the header build and one expired harness deadline.
    budget = 120.0 + 3 * sum(t["duration"] for t in replay)
    # Some catches depend on how the worker is scheduled against the main thread (a broken
    # engine may get lucky); the mutant counts as caught when any attempt catches it.
    tried = []
    for attempt in range(REPLAY_ATTEMPTS):
        run = killmatrix.run_suite(killmatrix.engine_spec(name),
                                   tmp_path / f"report{attempt}.json", entry["cc"], budget,
                                   tests=[_test_path(t["nodeid"]) for t in replay])
        by_name = {nodeid.partition("::")[2]: t for nodeid, t in run.tests.items()}
        statuses = {t["nodeid"]: by_name.get(t["nodeid"].partition("::")[2], {}).get(
            "status", "NOT RUN") for t in replay}
        if any(s in killmatrix.CATCHING for s in statuses.values()):
            return
        tried.append(f"attempt {attempt + 1}: {statuses} {run.problem}")
    pytest.fail(f"{name} is no longer caught:\n" + "\n".join(tried)
                + f"\n{run.log[-3000:]}")
