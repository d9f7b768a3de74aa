"""FAULT: the engine under failures around it: a compiler that is slow to exit, dies by a
signal or is missing, and a tmp dir it cannot write to."""

import signal
import threading

import pytest

from pytest_mjit import JitState, is_compiled
from pytest_mjit.testing import (STEP_WAIT, call_to_enqueue, compiled, deadline, define_affine,
                                 Helper, settle, wait_for)

from ._support import STOP_WAIT, any_unit_files, runs_compiled


@pytest.mark.mjit_clause("FAULT-1")
@pytest.mark.parametrize("stop", ["pause", "finish"])
def test_stopping_during_a_compile_waits_for_it_without_the_lock(stop, mjit_start, mjit_cc):
    """pause/finish during a compile waits for the compiler to exit, and meanwhile a GC
    (start and exit hooks, free_iseq) run from the stop loop's interrupt check returns."""
    host, engine = mjit_start()
    hold = mjit_cc.hold("compile", nth=1)
    m = define_affine(host, "m", 2)
    victim = define_affine(host, "victim", 3, root=False)
    call_to_enqueue(host, m, host.options.min_calls)
    hold.wait_reached()

    since = len(host.events)
    gc_done = threading.Event()
    seen = {}

    def gc_job(_data):
        # Runs on the main thread, inside the engine's stop loop (STOP-5).
        seen["compiler_running"] = bool(mjit_cc.running())
        seen["freed"] = [i.name for i in host.gc()]
        gc_done.set()

    def helper():
        try:
            wait_for(lambda: any(e.kind == "check_ints" for e in host.events[since:]),
                     STEP_WAIT, f"the main thread to run check_ints inside {stop}")
            assert host.register_postponed_job(gc_job, None)
            wait_for(gc_done.is_set, STEP_WAIT, "a GC run from the stop loop to return "
                     "while the compiler is held")
        finally:
            hold.release()

    runner = Helper(helper, name="gc-during-stop")
    with deadline(STOP_WAIT, f"{stop} during a compile"):
        if stop == "pause":
            assert engine.pause(wait=False) is True
        else:
            engine.finish()
    running = mjit_cc.running()
    runner.join()
    assert seen == {"compiler_running": True, "freed": ["victim"]}
    assert not running, f"{stop} returned while a compiler still ran"
    held = [i for i in mjit_cc.invocations() if i.pid == hold.pid]
    assert held and not held[0].running
    assert victim.freed


@pytest.mark.mjit_clause("FAULT-2")
@pytest.mark.parametrize("kind", ["compile", "link"])
def test_compiler_killed_by_a_signal_fails_the_unit(kind, mjit_start, mjit_cc, mjit_observe):
    """A compile or link killed by SIGSEGV or SIGKILL makes the unit NOT_COMPILED without
    leftovers, and the engine goes on compiling."""
    host, engine = mjit_start()
    victims = [define_affine(host, f"victim{k}", k) for k in (1, 2)]
    for v, sig in zip(victims, (signal.SIGSEGV, signal.SIGKILL), strict=True):
        mjit_cc.clear_rules()
        mjit_cc.crash(kind, signal=sig)
        call_to_enqueue(host, v, host.options.min_calls)
        assert settle(host, engine, v) == JitState.NOT_COMPILED
        left = [f for f in any_unit_files(mjit_observe.tmp_dir) if not f.endswith(".o")]
        assert not left, f"the killed {kind} left files: {left}"
    crashed = [i for i in mjit_cc.invocations() if i.kind == kind and i.signal]
    assert sorted(i.signal for i in crashed) == sorted([signal.SIGSEGV, signal.SIGKILL])
    assert engine.enabled
    mjit_cc.clear_rules()
    survivor = define_affine(host, "survivor", 5)
    call_to_enqueue(host, survivor, host.options.min_calls)
    compiled(host, engine, survivor)
    assert runs_compiled(host, survivor, 7)
    for v in victims:
        assert host.call(v, 4) == host.interpret(v, 4)
    assert not host.violations


def assert_host_unharmed(host, iseq):
    """Calls, a GC and the call path keep working, with nothing recorded as a violation."""
    for x in range(3):
        assert host.call(iseq, x) == host.interpret(iseq, x)
    host.gc()
    assert not is_compiled(iseq.body.jit_func)
    assert not host.violations


@pytest.mark.mjit_clause("FAULT-3")
def test_unwritable_tmp_dir_disables_the_engine_or_fails_units(mjit_start, mjit_cc,
                                                               mjit_tmpdir):
    """With a tmp dir nothing can be created in (a path through a regular file: root too is
    refused), the engine gives up or fails each unit, and the host never sees an error."""
    blocker = mjit_tmpdir / "not-a-directory"
    blocker.write_text("")
    header = mjit_cc.hold("pch")
    host, engine = mjit_start(tmp_dir=str(blocker / "jit"))
    m = define_affine(host, "m", 4)
    if "pch" in engine.capabilities:
        # Queue the method before the header build fails, so the failure meets a queued unit.
        header.wait_reached()
    call_to_enqueue(host, m, host.options.min_calls)
    header.release()
    wait_for(lambda: (host.check_ints(), not engine.enabled
                      or m.body.jit_func == JitState.NOT_COMPILED)[1], STEP_WAIT,
             "the engine to give up or to fail the unit",
             extra=lambda: f"enabled={engine.enabled} jit_func={m.body.jit_func!r}")
    assert_host_unharmed(host, m)
    with deadline(STOP_WAIT, "finish"):
        engine.finish()
    blocker.unlink()


@pytest.mark.mjit_clause("FAULT-4")
def test_missing_compiler_fails_the_header_and_the_engine_survives(mjit_start, mjit_cc,
                                                                  mjit_tmpdir, mjit_observe):
    """A compiler path that does not exist only makes the header build fail: the engine
    disables itself (PCH-3) and the host goes on interpreting."""
    missing = str(mjit_tmpdir.parent / "no-such-compiler")
    host, engine = mjit_start(cc=missing, cc_family=mjit_cc.family)
    m = define_affine(host, "m", 6)
    call_to_enqueue(host, m, host.options.min_calls)
    if "pch" in engine.capabilities:
        wait_for(lambda: not engine.enabled, STEP_WAIT, "the engine to disable itself")
    else:
        assert settle(host, engine, m) == JitState.NOT_COMPILED
    assert m.body.jit_func != JitState.NOT_ADDED or not engine.enabled
    assert_host_unharmed(host, m)
    with deadline(STOP_WAIT, "finish"):
        engine.finish()
    assert not mjit_observe.files(), f"files left: {sorted(mjit_observe.files())}"
