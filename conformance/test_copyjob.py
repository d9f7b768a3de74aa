"""The copy job: the worker has the main thread snapshot an ISeq's caches through a postponed
job, lets GC run while it waits, and never waits for a job that cannot run."""

import threading

import pytest

from pytest_mjit import JitState, is_compiled
from pytest_mjit.testing import (STEP_WAIT, call_to_enqueue, compiled, deadline, define_affine,
                                 gc_open, wait_for)

from ._support import (define_caller, define_const_reader, release_on_event, runs_compiled,
                       settle_without_jobs)

pytestmark = pytest.mark.mjit_requires("copy_job")


def _wait_for_job(host):
    """Wait until the worker registered a copy job (or, wrongly, copied without one)."""
    wait_for(lambda: host.events_of("postponed:register", "copy_caches"), STEP_WAIT,
             "the worker to ask for a cache copy")


def _copies_of(host, iseq):
    return [e for e in host.events_of("copy_caches") if e.iseq == iseq.id]


@pytest.mark.mjit_clause("COPYJOB-1")
def test_caches_are_copied_on_main_thread_by_postponed_job(mjit_host, mjit_engine):
    """Call caches and inline storage are read only on the main thread, inside a postponed
    job the worker registered."""
    host, engine = mjit_host, mjit_engine
    host.set_const("K", 40)
    callee = define_affine(host, "callee", 3)
    caller = define_caller(host, callee)
    reader = define_const_reader(host, "K")
    for iseq in (caller, reader):
        call_to_enqueue(host, iseq, host.options.min_calls)
    for iseq in (caller, reader):
        compiled(host, engine, iseq)
        assert runs_compiled(host, iseq, 5)
    main = threading.current_thread().name
    events = host.events
    for iseq in (caller, reader):
        copies = [i for i, e in enumerate(events) if e.kind == "copy_caches" and e.iseq == iseq.id]
        assert copies, f"the caches of {iseq.name} were never copied"
        for i in copies:
            assert events[i].thread == main, f"caches copied on {events[i].thread}"
            # Inside a postponed job: the nearest job event before the copy is its run.
            runs = [e.kind for e in events[:i] if e.kind in ("postponed:register", "postponed:run")]
            assert runs and runs[-1] == "postponed:run", "the copy did not run in a postponed job"
    assert not host.violations


@pytest.mark.mjit_clause("COPYJOB-2")
def test_gc_runs_while_worker_waits_for_copy_job(mjit_host, mjit_engine):
    """A whole GC starts and ends while the worker waits for its copy job; the unit then
    compiles."""
    host, engine = mjit_host, mjit_engine
    caller = define_caller(host, define_affine(host, "callee", 4))
    call_to_enqueue(host, caller, host.options.min_calls)
    _wait_for_job(host)
    assert not _copies_of(host, caller)
    with deadline(STEP_WAIT, "a GC while the worker waits for the copy job"):
        host.gc()
    compiled(host, engine, caller)
    assert runs_compiled(host, caller, 2)
    assert not host.violations


@pytest.mark.mjit_clause("COPYJOB-3")
def test_compiled_code_uses_caches_as_of_the_job(mjit_host, mjit_engine):
    """Compiled code sees the constant and call target of when the job ran, not of when the
    method was queued nor of later changes."""
    host, engine = mjit_host, mjit_engine
    host.set_const("K", 5)
    reader = define_const_reader(host, "K")
    first = define_affine(host, "first", 2)
    second = define_affine(host, "second", 3)
    caller = define_caller(host, first)
    call_to_enqueue(host, reader, host.options.min_calls)
    call_to_enqueue(host, caller, host.options.min_calls)
    _wait_for_job(host)
    assert not host.events_of("copy_caches"), "caches were copied before the job ran"
    # Changed after queueing, before the job runs: the code must see these.
    host.set_const("K", 7)
    host.set_call_target(caller, 0, second)
    compiled(host, engine, reader)
    compiled(host, engine, caller)
    # Changed after the job ran: the code must not see these.
    host.set_const("K", 9)
    host.set_call_target(caller, 0, first)
    jit_calls = len(host.events_of("jit_call"))
    assert host.call(reader, 1) == 7 + 1
    assert host.call(caller, 10) == 10 * 3 + 3 + 1
    assert len(host.events_of("jit_call")) == jit_calls + 2
    assert not host.violations


@pytest.mark.mjit_clause("COPYJOB-4")
def test_iseq_freed_while_job_waits_fails_the_copy(mjit_host, mjit_engine):
    """free_iseq while the copy job waits: the job copies nothing, the unit is not compiled,
    and the worker carries on with the next unit."""
    host, engine = mjit_host, mjit_engine
    caller = define_caller(host, define_affine(host, "callee", 5))
    call_to_enqueue(host, caller, host.options.min_calls)
    _wait_for_job(host)
    with gc_open(host):
        engine.free_iseq(caller)      # what the host's GC calls when it frees an ISeq
    host.check_ints()                 # the pending job runs now
    # Like the C, the job's handler may leave the worker asleep; queueing wakes it.
    m = define_affine(host, "m", 6)
    call_to_enqueue(host, m, host.options.min_calls)
    compiled(host, engine, m)
    wait_for(lambda: any(e.iseq == caller.id for e in host.events_of("generate_code:exit")),
             STEP_WAIT, "the caller's generation to end")
    assert not _copies_of(host, caller), "the job copied the caches of a freed ISeq"
    assert [e.detail for e in host.events_of("generate_code:exit") if e.iseq == caller.id] \
        == ["failed"]
    assert not is_compiled(caller.body.jit_func)
    assert not host.violations


@pytest.mark.mjit_clause("COPYJOB-5")
def test_pause_and_finish_end_a_copy_job_wait(mjit_host, mjit_engine):
    """pause and finish return while the worker waits for a copy job nobody runs."""
    host, engine = mjit_host, mjit_engine
    callee = define_affine(host, "callee", 6)
    caller = define_caller(host, callee)
    call_to_enqueue(host, caller, host.options.min_calls)
    _wait_for_job(host)
    with deadline(STEP_WAIT, "pause while the worker waits for the copy job"):
        assert engine.pause(wait=False) is True
    assert engine.resume() is True
    jobs = len(host.events_of("postponed:register"))
    other = define_caller(host, callee, name="other")
    call_to_enqueue(host, other, host.options.min_calls)
    wait_for(lambda: len(host.events_of("postponed:register")) > jobs, STEP_WAIT,
             "the second copy job")
    with deadline(STEP_WAIT, "finish while the worker waits for the copy job"):
        engine.finish()
    assert not engine.call_p
    assert not host.violations


@pytest.mark.mjit_clause("COPYJOB-6")
def test_job_run_after_worker_gave_up_does_nothing(mjit_host, mjit_engine):
    """A copy job registered while the worker is being stopped, run after it gave up (and
    after resume), copies nothing."""
    host, engine = mjit_host, mjit_engine
    caller = define_caller(host, define_affine(host, "callee", 7))
    gate = host.gate("postponed:register")
    call_to_enqueue(host, caller, host.options.min_calls)
    gate.wait_reached()
    # The worker registers its job only once pause is stopping it (the stop loop checks
    # interrupts), and those checks leave jobs queued, so the job is still pending when the
    # worker gives up and first runs after resume.
    host.defer_postponed_jobs = True
    helper = release_on_event(host, "check_ints", gate)
    with deadline(STEP_WAIT, "pause while the worker registers a copy job"):
        assert engine.pause(wait=False) is True
    helper.join()
    assert host.pending_postponed_jobs == 1, "the worker registered no copy job"
    host.defer_postponed_jobs = False
    assert engine.resume() is True
    host.check_ints()
    assert not _copies_of(host, caller), "a job run after the worker gave up copied caches"
    assert not is_compiled(caller.body.jit_func)
    assert not host.violations


@pytest.mark.mjit_clause("COPYJOB-7")
def test_wait_mode_copies_inline_without_postponed_job(mjit_start):
    """In wait mode the caches are copied by the worker itself while the main thread waits,
    without registering a postponed job."""
    host, engine = mjit_start(wait=True)
    caller = define_caller(host, define_affine(host, "callee", 8))
    with deadline(STEP_WAIT, "the call that waits for compilation"):
        call_to_enqueue(host, caller, host.options.min_calls)
    assert is_compiled(caller.body.jit_func)
    assert not host.events_of("postponed:register"), "wait mode registered a postponed job"
    copies = _copies_of(host, caller)
    assert copies and all(e.thread != threading.current_thread().name for e in copies)
    assert runs_compiled(host, caller, 3)
    assert not host.violations


@pytest.mark.mjit_clause("COPYJOB-8")
def test_refused_job_fails_the_copy_at_once(mjit_host, mjit_engine):
    """When the host refuses the postponed job, generation fails without waiting and later
    units still compile."""
    host, engine = mjit_host, mjit_engine
    callee = define_affine(host, "callee", 9)
    call_to_enqueue(host, callee, host.options.min_calls)
    compiled(host, engine, callee)
    caller = define_caller(host, callee)
    host.refuse_postponed_jobs = True
    call_to_enqueue(host, caller, host.options.min_calls)
    # No job can run: only a worker that does not wait lets the caller settle.
    assert settle_without_jobs(caller) == JitState.NOT_COMPILED
    assert [e.detail for e in host.events_of("postponed:register")] == ["refused"]
    assert not _copies_of(host, caller)
    host.refuse_postponed_jobs = False
    m = define_affine(host, "m", 10)
    call_to_enqueue(host, m, host.options.min_calls)
    compiled(host, engine, m)
    assert not host.violations
