"""The protocol machine against the reference engine and against planted protocol bugs: the
reference runs clean, and each sm_* mutant is found by the default preset and shrunk to a
short failing program whose step count the failure report states.

The schedule is controlled, so one pinned seed fixes every run: no seed loop, no retries."""

from __future__ import annotations

import importlib
import re

import pytest

from pytest_mjit._fixtures import session_of
from pytest_mjit._presets import PRESETS
from pytest_mjit.machines import RigConfig, run_machine

MAX_SHRUNK_STEPS = 15
#: Pinned: with a controlled schedule the whole search is the same on every run.
SEED = 1
MUTANTS = ["sm_gc_overlap", "sm_gc_flag_never_set", "sm_copy_off_main", "sm_finish_keeps_maps",
           "sm_finish_leaves_objects", "sm_publish_unmapped",
           # window bugs and lost wake-ups: found only by controlled schedules
           "sm_gc_liveness_checked_before_wait", "sm_in_jit_set_in_second_section",
           "sm_in_jit_release_wakes_wrong_condition", "sm_gc_flag_read_outside_lock",
           "sm_gc_wait_after_stale_check"]


def _config(request, tmp_path, factory=None) -> RigConfig:
    session = session_of(request.config)
    config = RigConfig.from_session(session, tmp_path, factory=factory)
    return RigConfig(**{**config.__dict__, "preset": PRESETS["default"]})


def test_reference_runs_clean(request, tmp_path):
    import mjit_ref
    run = run_machine(_config(request, tmp_path, mjit_ref.create_engine), seed=SEED)
    assert not run.failed, run.describe()
    assert run.uncontrolled == 0, run.describe()
    assert run.examples >= PRESETS["default"].max_examples
    assert run.compiles > 0, "no example compiled anything: the machine explores too little"


@pytest.mark.parametrize("mutant", MUTANTS)
def test_mutant_is_found_and_shrunk(request, tmp_path, mutant):
    factory = importlib.import_module(f"tests.mutants.{mutant}").create_engine
    run = run_machine(_config(request, tmp_path, factory), seed=SEED)
    report = run.describe()
    assert run.failed, f"{mutant} was not found:\n{report}"
    assert run.reported_steps is not None, report
    assert run.reported_steps == len(run.failing_steps), report
    assert run.reported_steps <= MAX_SHRUNK_STEPS, report
    assert "replay: --mjit-replay=" in report, report
    assert "threads:" in run.trace, report


def _first_line(run) -> str:
    """The failure's first line, without the per-example directory names."""
    return re.sub(r"/\S*/machine-\w+", "<example dir>", str(run.error).splitlines()[0])


def test_replay_reproduces_the_shrunk_failure(request, tmp_path):
    factory = importlib.import_module("tests.mutants.sm_copy_off_main").create_engine
    config = _config(request, tmp_path, factory)
    first = run_machine(config, seed=SEED)
    assert first.failed and first.replay, first.describe()
    again = run_machine(config, replay=first.replay)
    assert again.failed, again.describe()
    assert again.failing_steps == first.failing_steps
    assert again.examples == 1
    assert _first_line(again) == _first_line(first)


def test_an_engine_on_raw_threading_still_runs(request, tmp_path):
    """mjit_ref with ``import threading`` instead of pytest_mjit.sync: its threads are
    outside the controlled run, so it runs unheld and its moves count as uncontrolled."""
    from tests.mutants import mutate
    line = "from pytest_mjit import sync as threading  # the harness can schedule them\n"
    factory = mutate("raw_threading", edits=(("_engine.py", line, "import threading\n"),
                                             ("_lifecycle.py", line, "import threading\n")))
    config = _config(request, tmp_path, factory)
    run = run_machine(RigConfig(**{**config.__dict__, "preset": PRESETS["quick"]}),
                      max_examples=3)
    assert not run.failed, run.describe()
    assert run.uncontrolled > 0, run.describe()
