"""The protocol machine against the reference engine and against planted protocol bugs: the
reference runs clean, and each sm_* mutant is found by the default preset and shrunk to a
short failing program whose step count the failure report states.

The schedule is controlled, so one pinned seed fixes every run: no seed loop, no retries."""

from __future__ import annotations

import importlib
import re

import pytest

from pytest_mjit.machines import MachineRun, ProtocolViolation, RigConfig, run_machine
from pytest_mjit.machines._checks import blamed, clauses_of, leftover_problems
from pytest_mjit.testing import Child, Leftovers, Mapping

MAX_SHRUNK_STEPS = 15
#: Pinned: with a controlled schedule the whole search is the same on every run.
SEED = 1
#: Each sm_* mutant, with the clauses its failure may be blamed on (at least one of them,
#: none other: a failure names the clause whose check failed, not every clause checked);
#: None where any blame will do.
MUTANTS = {"sm_gc_overlap": {"GC-1", "GC-2"}, "sm_gc_flag_never_set": {"GC-1", "GC-4"},
           "sm_copy_off_main": {"COPYJOB-1"}, "sm_finish_keeps_maps": {"FINISH-3"},
           "sm_finish_leaves_objects": {"FINISH-2"}, "sm_publish_unmapped": {"LOAD-1"},
           # a lost wake-up: found as a deadlock verdict of whichever call it stops
           "sm_in_jit_release_wakes_wrong_condition": None,
           # window bugs, between two critical sections: found by gc_at_windows
           "sm_in_jit_set_in_second_section": {"GC-1"},
           "sm_gc_flag_read_outside_lock": {"GC-1"},
           # a read of the freed ISeq's body names no clause
           "sm_gc_liveness_checked_before_wait": None}


def _config(request, factory=None) -> RigConfig:
    config = request.getfixturevalue("mjit_machine_config")
    return config.replace(factory=factory, preset="default")


def test_reference_runs_clean(request):
    import mjit_ref
    config = _config(request, mjit_ref.create_engine)
    run = run_machine(config, seed=SEED)
    assert not run.failed, run.describe()
    assert run.uncontrolled == 0, run.describe()
    assert run.examples >= config.preset.max_examples
    assert run.compiles >= 10, f"{run.compiles} compiles: the machine explores too little"
    # the real compiler's own time is counted, and is part of the run's
    assert 0 < run.compiler_seconds < run.seconds, run.describe()


#: The mutants whose search runs in the default run; the others run with ``-m slow`` (each
#: search, shrinking included, takes minutes on a loaded 2-core machine).  sm_copy_off_main's
#: search runs by default inside test_replay_reproduces_the_shrunk_failure.
DEFAULT_SEARCHES = {"sm_gc_flag_read_outside_lock"}


@pytest.mark.parametrize("mutant", [m if m in DEFAULT_SEARCHES else
                                    pytest.param(m, marks=pytest.mark.slow)
                                    for m in sorted(MUTANTS)])
def test_mutant_is_found_and_shrunk(request, mutant):
    factory = importlib.import_module(f"tests.mutants.{mutant}").create_engine
    run = run_machine(_config(request, factory), seed=SEED)
    report = run.describe()
    assert run.failed, f"{mutant} was not found:\n{report}"
    assert run.reported_steps is not None, report
    assert run.reported_steps == len(run.failing_steps), report
    assert run.reported_steps <= MAX_SHRUNK_STEPS, report
    assert "replay: --mjit-replay=" in report, report
    assert "threads:" in run.trace, report
    if MUTANTS[mutant] is not None:
        assert run.clauses and set(run.clauses) <= MUTANTS[mutant], report


def _first_line(run) -> str:
    """The failure's first line, without the per-example directory names."""
    return re.sub(r"/\S*/machine-\w+", "<example dir>", str(run.error).splitlines()[0])


def test_replay_reproduces_the_shrunk_failure(request):
    factory = importlib.import_module("tests.mutants.sm_copy_off_main").create_engine
    config = _config(request, factory)
    first = run_machine(config, seed=SEED)
    assert first.failed and first.replay, first.describe()
    again = run_machine(config, replay=first.replay)
    assert again.failed, again.describe()
    assert again.failing_steps == first.failing_steps
    assert again.examples == 1
    assert _first_line(again) == _first_line(first)


def test_an_engine_on_raw_threading_still_runs(request):
    """mjit_ref with ``import threading`` instead of pytest_mjit.sync: its threads are
    outside the controlled run, so it runs unheld and its moves count as uncontrolled."""
    from tests.mutants import mutate
    line = "from pytest_mjit import sync as threading  # the harness can schedule them\n"
    factory = mutate("raw_threading", edits=(("_state.py", line, "import threading\n"),
                                             ("_lifecycle.py", line, "import threading\n")))
    config = _config(request, factory)
    run = run_machine(config.replace(preset="quick"),
                      max_examples=3)
    assert not run.failed, run.describe()
    assert run.uncontrolled > 0, run.describe()


def test_a_failure_names_the_clauses_of_its_problems():
    """The clauses a failure is blamed on are those its problems name, once each; one
    problem that names none blames every clause the machine checks (no names)."""
    assert clauses_of([blamed("GC-4", "a"), blamed("LOAD-1", "b"), blamed("GC-4", "c")]) == \
        ("GC-4", "LOAD-1")
    assert clauses_of([blamed("GC-4", "a"), blamed(None, "b")]) == ()
    left = Leftovers(tmp_dir="/t", threads={1: "mjit-worker"},
                     children=(Child(9, "S", ("cc", "-c")),), files=("x.o",),
                     maps=(Mapping("/t/x.so", True),))
    assert leftover_problems(left) == [
        "[FINISH-1] after finish the engine left threads: mjit-worker",
        "[FINISH-1] after finish the engine left child processes: 9 [S] cc -c",
        "[FINISH-2] after finish the engine left files in /t: x.o",
        "[FINISH-3] after finish the engine left mapped libraries: /t/x.so (deleted)"]

    def run(error):
        return MachineRun(examples=1, steps=1, seconds=0.0, uncontrolled=0, error=error)
    assert run(ProtocolViolation("stuck", ("STOP-2",))).clauses == ("STOP-2",)
    assert run(RuntimeError("engine bug")).clauses == ()
    flaky = ExceptionGroup("flaky", [ProtocolViolation("a", ("GC-1",)),
                                     ProtocolViolation("b", ("GC-2",))])
    assert run(flaky).clauses == ("GC-1", "GC-2")
    assert "failed clause(s): STOP-2" in run(ProtocolViolation("stuck", ("STOP-2",))).describe()


def test_an_example_is_bounded_like_a_test(request):
    """A protocol-machine test uses no engine fixture: each example's rig opens the per-test
    bound itself, and a deadline inside it still works."""
    import dataclasses
    import time
    from pytest_mjit.machines._rig import ExampleRig
    from pytest_mjit.testing import DeadlineExceeded, active_deadlines, deadline, scale
    config = request.getfixturevalue("mjit_machine_config")
    rig = ExampleRig(dataclasses.replace(config, preset=dataclasses.replace(config.preset,
                                                                      test_timeout=0.3)))
    try:
        with pytest.raises(DeadlineExceeded) as inner:
            with deadline(0.05, "a client call"):
                time.sleep(scale(10.0))
        with pytest.raises(DeadlineExceeded) as outer:
            time.sleep(scale(10.0))
    finally:
        rig.close()
    assert "expired: a client call" in str(inner.value)
    assert "expired: protocol machine example" in str(outer.value)
    assert active_deadlines() == []
