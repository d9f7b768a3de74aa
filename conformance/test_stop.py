"""STOP: pausing the worker (with and without draining the queue), resuming it, and what
stays usable while it is stopped."""

import pytest

from pytest_mjit import EngineStateError, JitState, is_compiled
from pytest_mjit.testing import (COMPILE_WAIT, STEP_WAIT, call_to_enqueue, compile_methods,
                                 compiled, deadline, DeadlineExceeded, define_affine,
                                 python_threads, settle, wait_for)

from ._support import (STOP_WAIT, define_caller, frames_on_stack, new_threads, release_after,
                       threads_left)


@pytest.mark.mjit_clause("STOP-1")
def test_pause_without_wait_returns_after_the_worker_ended(mjit_start, mjit_cc, mjit_observe):
    """pause(wait=False) during a compile returns only once the worker thread is gone and the
    interrupted unit left no .c or .so."""
    before = python_threads()
    host, engine = mjit_start()
    hold = mjit_cc.hold("compile")
    m = define_affine(host, "m", 3)
    call_to_enqueue(host, m, host.options.min_calls)
    hold.wait_reached()
    workers = new_threads(before)
    assert workers, "no engine thread is running while a unit compiles"

    helper = release_after(host, "check_ints", len(host.events), hold)
    with deadline(STOP_WAIT, "pause(wait=False) during a compile"):
        assert engine.pause(wait=False) is True
    compilers = mjit_cc.running()
    leftovers = sorted(f for f in mjit_observe.files() if f.endswith((".c", ".so")))
    still = {i: n for i, n in threads_left(before, helper).items() if i in workers}
    helper.join()
    assert not compilers, "a compiler is still running after pause returned"
    assert not leftovers, f"the interrupted unit left files behind: {leftovers}"
    assert not still, f"engine threads still run after pause returned: {still}"


@pytest.mark.mjit_clause("STOP-2")
def test_pause_with_wait_drains_the_queue(mjit_start, mjit_cc):
    """pause(wait=True) lets the worker compile every queued unit before stopping it."""
    host, engine = mjit_start()
    hold = mjit_cc.hold("compile", nth=1)
    methods = [define_affine(host, f"m{k}", k) for k in range(1, 4)]
    for m in methods:
        call_to_enqueue(host, m, host.options.min_calls)
    hold.wait_reached()
    assert all(m.body.jit_func == JitState.NOT_READY for m in methods[1:])

    helper = release_after(host, "check_ints", len(host.events), hold)
    with deadline(STOP_WAIT, "pause(wait=True) with three queued units"):
        assert engine.pause(wait=True) is True
    helper.join()
    states = {m.name: m.body.jit_func for m in methods}
    assert all(is_compiled(f) for f in states.values()), \
        f"pause(wait=True) stopped the worker before the queue drained: {states}"


@pytest.mark.mjit_clause("STOP-2")
def test_pause_with_wait_returns_when_the_cache_is_full(mjit_start, mjit_cc):
    """pause(wait=True) does not wait for a queue the worker may not drain (cache full)."""
    host, engine = mjit_start(max_cache_size=10)
    methods = compile_methods(host, engine, *range(1, 11), timeout=COMPILE_WAIT)
    extra = define_affine(host, "extra", 11)
    # Every compiled method has a frame on the stack, so nothing can be unloaded to make
    # room: the extra unit stays queued behind a full cache (QUEUE-6).
    with frames_on_stack(host, methods):
        call_to_enqueue(host, extra, host.options.min_calls)
        with deadline(STOP_WAIT, "pause(wait=True) with a full cache"):
            assert engine.pause(wait=True) is True


@pytest.mark.mjit_clause("STOP-2")
@pytest.mark.mjit_requires("pch")
def test_pause_with_wait_ends_when_the_worker_stopped(mjit_start, mjit_cc):
    """A header build that fails while pause(wait=True) waits for the queue stops the worker
    with a unit still queued; pause returns instead of waiting for a drain that cannot come.
    (CRuby 2.7's mjit_pause loops forever here: see the note on STOP-2.)"""
    header = mjit_cc.hang(kind="pch")
    host, engine = mjit_start()
    m = define_affine(host, "m", 3)
    call_to_enqueue(host, m, host.options.min_calls)
    header.wait_reached()

    # The drain loop waits through the host's sleep, which runs interrupt checks: fail the
    # header build once the main thread is in it.
    helper = release_after(host, "check_ints", len(host.events), header)
    try:
        with deadline(STOP_WAIT, "pause(wait=True) after the worker stopped"):
            engine.pause(wait=True)
    except DeadlineExceeded as exc:
        pytest.fail("pause(wait=True) never returned after the failed header build stopped the "
                    f"worker with a unit still queued: {str(exc).splitlines()[0]}",
                    pytrace=False)
    finally:
        helper.join()
    assert [i.ok for i in mjit_cc.invocations()] == [False], mjit_cc.describe()
    assert not is_compiled(m.body.jit_func)
    assert host.call(m, 4) == host.interpret(m, 4)


@pytest.mark.mjit_clause("STOP-3")
def test_pause_and_resume_report_whether_they_changed_anything(mjit_start):
    """pause of a stopped worker and resume of a running one return False; both raise once
    the engine is finished."""
    _host, engine = mjit_start()
    assert engine.resume() is False, "resume of a running worker returned True"
    with deadline(STOP_WAIT, "pause"):
        assert engine.pause(wait=False) is True
        assert engine.pause(wait=False) is False, "pause of a stopped worker returned True"
        assert engine.pause(wait=True) is False, "pause of a stopped worker returned True"
    assert engine.resume() is True
    assert engine.resume() is False, "resume of a running worker returned True"
    with deadline(STOP_WAIT, "finish"):
        engine.finish()
    with pytest.raises(EngineStateError):
        engine.pause()
    with pytest.raises(EngineStateError):
        engine.resume()


@pytest.mark.mjit_clause("STOP-3")
def test_pause_and_resume_raise_after_the_header_failed(mjit_start, mjit_cc):
    """pause and resume raise on an engine that a failed header build disabled."""
    mjit_cc.fail()
    host, engine = mjit_start()
    m = define_affine(host, "m", 2)
    call_to_enqueue(host, m, host.options.min_calls)
    wait_for(lambda: not engine.enabled, STEP_WAIT, "the engine to give up after a failed build")
    with pytest.raises(EngineStateError):
        engine.pause()
    with pytest.raises(EngineStateError):
        engine.resume()


@pytest.mark.mjit_clause("STOP-4")
def test_resume_compiles_the_queued_units(mjit_start):
    """Units queued while paused are compiled after resume, by one new worker."""
    before = python_threads()
    host, engine = mjit_start()
    with deadline(STOP_WAIT, "pause"):
        assert engine.pause(wait=False) is True
    assert not threads_left(before), "an engine thread still runs after pause returned"
    methods = [define_affine(host, f"m{k}", k) for k in (1, 2)]
    for m in methods:
        call_to_enqueue(host, m, host.options.min_calls)
    assert all(m.body.jit_func == JitState.NOT_READY for m in methods)
    assert engine.resume() is True
    for m in methods:
        compiled(host, engine, m)
        assert host.call(m, 5) == host.interpret(m, 5)
    assert len(new_threads(before)) == 1, "resume did not leave exactly one engine thread"


@pytest.mark.mjit_clause("STOP-5")
def test_pause_runs_the_interrupt_check_for_a_pending_copy_job(mjit_start):
    """A pause while the worker waits for a copy job runs the host's interrupt check and
    returns."""
    host, engine = mjit_start()
    callee = define_affine(host, "callee", 5)
    caller = define_caller(host, callee)
    call_to_enqueue(host, caller, host.options.min_calls)
    # The worker registers the copy job; only the main thread's interrupt check runs it.
    wait_for(lambda: host.events_of("postponed:register"), STEP_WAIT,
             "the worker to register its copy job")
    since = len(host.events)
    with deadline(STOP_WAIT, "pause(wait=False) while a copy job is pending"):
        assert engine.pause(wait=False) is True
    during = [e.kind for e in host.events[since:]]
    assert "check_ints" in during, f"the stop loop never ran the interrupt check: {during}"
    assert host.pending_postponed_jobs == 0
    assert caller.body.jit_func != JitState.NOT_ADDED
    assert host.call(caller, 2) == host.interpret(caller, 2)


@pytest.mark.mjit_clause("STOP-6")
def test_compiled_code_runs_while_paused(mjit_start):
    """Code compiled before pause is still called (not interpreted) while the engine is
    paused."""
    host, engine = mjit_start()
    m = define_affine(host, "m", 7)
    call_to_enqueue(host, m, host.options.min_calls)
    compiled(host, engine, m)
    with deadline(STOP_WAIT, "pause"):
        assert engine.pause(wait=False) is True
    before = len(host.events_of("jit_call"))
    for x in (0, 3, -9):
        assert host.call(m, x) == host.interpret(m, x)
    assert len(host.events_of("jit_call")) - before == 3, \
        "calls made while paused did not run the compiled code"
    assert settle(host, engine, m) == m.body.jit_func
