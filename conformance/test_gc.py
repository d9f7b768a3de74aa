"""GC against the worker: no code generation or publishing inside a GC, gc_start_hook waits
for a running generation, ISeqs freed meanwhile are dropped, and mark keeps what the engine
still needs."""

import pytest

from pytest_mjit import JitState
from pytest_mjit.testing import (STEP_WAIT, call_to_enqueue, compiled, deadline, define_affine,
                                 gc_open, settle, wait_for)

from ._support import any_unit_files, define_caller, event_index, release_on_event, runs_compiled


def _gc_windows(events):
    """(start, end) positions in ``events`` of every GC: from gc_start_hook's return to the
    call of gc_exit_hook."""
    windows, start = [], None
    for i, event in enumerate(events):
        if event.kind == "gc_start_hook:exit":
            start = i
        elif event.kind == "gc_exit_hook:enter" and start is not None:
            windows.append((start, i))
            start = None
    return windows


@pytest.mark.mjit_clause("GC-1")
def test_no_code_generation_inside_gc(mjit_start, mjit_tmpdir):
    """A unit dequeued during a GC is generated only after that GC, never inside it."""
    host, engine = mjit_start()
    m = define_affine(host, "m", 3)
    with gc_open(host):
        call_to_enqueue(host, m, host.options.min_calls)
        # The worker creates the unit's .c before it waits for GC (PROTOCOL 2.3).
        wait_for(lambda: any_unit_files(mjit_tmpdir) or host.events_of("generate_code:enter"),
                 STEP_WAIT, "the worker to start on the unit")
        host.gc_sweep()
    compiled(host, engine, m)
    assert runs_compiled(host, m, 7)
    events = host.events
    for start, end in _gc_windows(events):
        inside = [e.kind for e in events[start:end] if e.kind.startswith("generate_code")]
        assert not inside, f"generate_code ran inside a GC: {inside}"
    assert not host.violations


def _gc_while_held_at_exit(host, gate, iseq):
    """With the worker held at ``gate`` (``generate_code:exit`` of ``iseq``), run a GC whose
    gc_begin opens the gate; assert that gc_start_hook returned only after generation ended."""
    gate.wait_reached()
    # The gate opens once the main thread is inside gc_begin: a correct hook is blocked.
    helper = release_on_event(host, "gc_start_hook:enter", gate)
    with deadline(STEP_WAIT, "gc_begin while generate_code runs"), gc_open(host):
        helper.join()
        host.gc_sweep()
    events = host.events
    ended = event_index(events, "generate_code:exit", iseq)
    assert ended is not None and ended < event_index(events, "gc_start_hook:exit"), \
        "gc_start_hook returned while generate_code was still running"


@pytest.mark.mjit_clause("GC-2")
def test_gc_start_hook_waits_for_running_generation(mjit_host, mjit_engine):
    """gc_start_hook called while generate_code runs returns only after it ended."""
    host, engine = mjit_host, mjit_engine
    m = define_affine(host, "m", 4)
    gate = host.gate("generate_code:exit", m)
    call_to_enqueue(host, m, host.options.min_calls)
    _gc_while_held_at_exit(host, gate, m)
    compiled(host, engine, m)
    assert not host.violations


@pytest.mark.mjit_clause("GC-2")
def test_gc_start_hook_waits_for_generation_after_a_copy_job(mjit_host, mjit_engine):
    """Once the copy job ended, GC is kept out again: gc_start_hook called while generate_code
    goes on after the caches were copied returns only after it ended."""
    host, engine = mjit_host, mjit_engine
    caller = define_caller(host, define_affine(host, "callee", 4))
    gate = host.gate("generate_code:exit", caller)
    call_to_enqueue(host, caller, host.options.min_calls)

    def held_after_copy() -> bool:
        host.check_ints()             # runs the copy job once the worker registered it
        return gate.reached
    wait_for(held_after_copy, STEP_WAIT, "the caller's generation to end its copy job")
    assert [e.iseq for e in host.events_of("copy_caches")] == [caller.id]
    _gc_while_held_at_exit(host, gate, caller)
    compiled(host, engine, caller)
    assert runs_compiled(host, caller, 3)
    assert not host.violations


@pytest.mark.mjit_clause("GC-3")
def test_worker_ready_when_gc_starts_waits_for_gc_exit(mjit_start, mjit_cc, mjit_tmpdir):
    """A unit queued before a GC, reached by the worker during it, is generated right after
    gc_exit_hook and compiles."""
    pch = mjit_cc.hold(kind="pch")
    host, engine = mjit_start()
    m = define_affine(host, "m", 5)
    queued_before_gc = "pch" in engine.capabilities
    if queued_before_gc:
        # The worker is busy with the header, so the unit stays queued until GC started.
        pch.wait_reached()
        call_to_enqueue(host, m, host.options.min_calls)
    with gc_open(host):
        if queued_before_gc:
            pch.release()
        else:
            call_to_enqueue(host, m, host.options.min_calls)
        wait_for(lambda: any_unit_files(mjit_tmpdir) or host.events_of("generate_code:enter"),
                 STEP_WAIT, "the worker to start on the unit")
        host.gc_sweep()
        assert not host.events_of("generate_code:enter"), "generate_code started during GC"
    compiled(host, engine, m)
    assert runs_compiled(host, m, 9)
    events = host.events
    assert event_index(events, "gc_exit_hook:enter") < event_index(events, "generate_code:enter", m)
    assert not host.violations


@pytest.mark.mjit_clause("GC-4")
def test_result_not_published_during_gc(mjit_start, mjit_cc, mjit_observe, mjit_tmpdir):
    """Code loaded while GC runs is published only after gc_exit_hook."""
    compile_hold = mjit_cc.hold(kind="compile")
    host, engine = mjit_start()
    m = define_affine(host, "m", 6)
    call_to_enqueue(host, m, host.options.min_calls)
    compile_hold.wait_reached()       # generate_code is over: GC may start
    with deadline(STEP_WAIT, "gc_begin while the unit compiles"), gc_open(host):
        compile_hold.release()
        # Loaded and its .so removed (COMPILE-8): only publishing is left.
        wait_for(lambda: any(lib.deleted for lib in mjit_observe.maps(mjit_tmpdir)),
                 STEP_WAIT, "the unit's library to be loaded")
        host.gc_sweep()
        assert m.body.jit_func == JitState.NOT_READY, "a result was published during GC"
    compiled(host, engine, m)
    assert runs_compiled(host, m, 3)
    assert not host.violations


@pytest.mark.mjit_clause("GC-5")
def test_iseq_freed_while_unit_waits_for_gc_is_not_compiled(mjit_start, mjit_cc, mjit_tmpdir):
    """An ISeq freed by the GC its dequeued unit waits on is never generated nor compiled,
    and the unit's files go away."""
    host, engine = mjit_start()
    m = define_affine(host, "m", 7, root=False)
    with gc_open(host):
        call_to_enqueue(host, m, host.options.min_calls)
        wait_for(lambda: any_unit_files(mjit_tmpdir) or host.events_of("generate_code:enter"),
                 STEP_WAIT, "the worker to take the unit")
        # Dequeued, so no longer marked: this GC frees it.
        assert m in host.gc_sweep()
    wait_for(lambda: not any_unit_files(mjit_tmpdir), STEP_WAIT, "the unit's files to go")
    assert not host.events_of("generate_code:enter")
    assert [i.kind for i in mjit_cc.invocations() if i.kind != "pch"] == []
    assert not host.violations


@pytest.mark.mjit_clause("GC-6")
def test_gc_after_failed_generation_does_not_block(mjit_host, mjit_engine):
    """After generate_code fails (a callee of a removed class), GC starts at once and later
    units still compile."""
    host, engine = mjit_host, mjit_engine
    serial = host.new_class()
    callee = define_affine(host, "callee", 2, class_serial=serial)
    # Compiled first, so that the failing caller is the last unit the worker handles.
    call_to_enqueue(host, callee, host.options.min_calls)
    compiled(host, engine, callee)
    caller = define_caller(host, callee)
    host.free_class(serial)
    call_to_enqueue(host, caller, host.options.min_calls)
    assert settle(host, engine, caller) == JitState.NOT_COMPILED
    assert [e.detail for e in host.events_of("generate_code:exit") if e.iseq == caller.id] \
        == ["failed"]
    with deadline(STEP_WAIT, "a GC after a failed generation"):
        host.gc()
    m = define_affine(host, "m", 8)
    call_to_enqueue(host, m, host.options.min_calls)
    compiled(host, engine, m)
    assert not host.violations


@pytest.mark.mjit_clause("GC-7")
def test_mark_keeps_queued_iseqs(mjit_start, mjit_cc):
    """An ISeq nothing else keeps alive survives GC while its unit is queued, then compiles."""
    compile_hold = mjit_cc.hold(kind="compile", nth=1)
    host, engine = mjit_start()
    first = define_affine(host, "first", 2)
    call_to_enqueue(host, first, host.options.min_calls)
    compile_hold.wait_reached()      # the worker is busy: the next unit stays queued
    m = define_affine(host, "m", 3, root=False)
    call_to_enqueue(host, m, host.options.min_calls)
    with deadline(STEP_WAIT, "GC while a unit compiles"):
        freed = host.gc()
    assert m not in freed and not m.freed, "GC freed an ISeq whose unit is queued"
    compile_hold.release()
    compiled(host, engine, m)
    assert runs_compiled(host, m, 11)
    assert not host.violations


@pytest.mark.mjit_clause("GC-7")
def test_mark_keeps_copy_job_iseq(mjit_host, mjit_engine):
    """An ISeq nothing else keeps alive survives GC while the worker waits for its copy job."""
    host, engine = mjit_host, mjit_engine
    if "copy_job" not in engine.capabilities:
        pytest.skip("the engine has no copy job")
    callee = define_affine(host, "callee", 5)
    caller = define_caller(host, callee, root=False)
    call_to_enqueue(host, caller, host.options.min_calls)
    wait_for(lambda: host.events_of("postponed:register"), STEP_WAIT, "the copy job")
    with deadline(STEP_WAIT, "GC while the worker waits for the copy job"):
        freed = host.gc()
    assert caller not in freed and not caller.freed, "GC freed the copy job's ISeq"
    compiled(host, engine, caller)
    assert runs_compiled(host, caller, 6)
    assert not host.violations
