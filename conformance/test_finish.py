"""FINISH: what finish leaves behind (nothing: no thread, compiler, file or mapping unless
asked), and that it can be repeated."""

import pytest

from pytest_mjit import EngineStateError, JitState, is_compiled
from pytest_mjit.testing import (call_to_enqueue, child_processes, compile_methods, compiled,
                                 deadline, define_affine, python_threads, settle)

from ._support import STOP_WAIT, call_jit_func, release_after, threads_left



@pytest.mark.mjit_clause("FINISH-1")
def test_finish_leaves_no_thread_and_no_compiler(mjit_start, mjit_cc):
    """finish during a compile returns with no engine thread and no compiler process left."""
    before, children = python_threads(), {c.pid for c in child_processes()}
    host, engine = mjit_start()
    compile_methods(host, engine, 1)
    hold = mjit_cc.hold("compile")
    m = define_affine(host, "late", 9)
    call_to_enqueue(host, m, host.options.min_calls)
    hold.wait_reached()

    helper = release_after(host, "check_ints", len(host.events), hold)
    with deadline(STOP_WAIT, "finish during a compile"):
        engine.finish()
    compilers = mjit_cc.running()
    processes = sorted(c.pid for c in child_processes() if c.pid not in children)
    threads = threads_left(before, helper)
    helper.join()
    assert not threads, f"engine threads survive finish: {threads}"
    assert not compilers, f"compilers survive finish: {[i.pid for i in compilers]}"
    assert not processes, f"child processes survive finish: {processes}"


@pytest.mark.mjit_clause("FINISH-2")
def test_finish_removes_every_file(mjit_start, mjit_cc, mjit_observe):
    """finish without save_temps removes every file the engine made, kept .o files, those of
    a unit whose link failed and the precompiled header included."""
    mjit_cc.fail("compile", nth=3)
    host, engine = mjit_start()
    good = compile_methods(host, engine, 1, 2)
    bad = define_affine(host, "bad", 3)
    call_to_enqueue(host, bad, host.options.min_calls)
    assert settle(host, engine, bad) == JitState.NOT_COMPILED
    mjit_cc.clear_rules()
    mjit_cc.fail("link")    # this unit's .o exists when its link fails
    bad_link = define_affine(host, "bad_link", 4)
    call_to_enqueue(host, bad_link, host.options.min_calls)
    assert settle(host, engine, bad_link) != JitState.NOT_READY
    assert not is_compiled(bad_link.body.jit_func)
    mjit_cc.clear_rules()
    assert all(is_compiled(m.body.jit_func) for m in good)
    assert mjit_observe.files(), "no file in the tmp dir while two methods are compiled"
    with deadline(STOP_WAIT, "finish"):
        engine.finish()
    assert not mjit_observe.files(), f"finish left files: {sorted(mjit_observe.files())}"


@pytest.mark.mjit_clause("FINISH-2")
@pytest.mark.mjit_clause("FINISH-3")
@pytest.mark.mjit_requires("recompile")
def test_finish_frees_the_units_a_recompile_replaced(mjit_start, mjit_observe):
    """The units a recompile replaced are the engine's too: finish removes their files and
    unmaps their libraries like the others'."""
    host, engine = mjit_start()
    a, b = compile_methods(host, engine, 1, 2)
    old = a.body.jit_func
    engine.recompile(a)
    assert compiled(host, engine, a).unit_id != old.unit_id
    with deadline(STOP_WAIT, "finish"):
        engine.finish(close_handle=True)
    assert not mjit_observe.files(), f"finish left files: {sorted(mjit_observe.files())}"
    left = mjit_observe.maps(mjit_observe.tmp_dir)
    assert not left, f"finish left libraries mapped: {sorted(m.path for m in left)}"


@pytest.mark.mjit_clause("FINISH-3")
def test_finish_unmaps_the_loaded_code(mjit_start, mjit_observe):
    """finish(close_handle=True) unmaps every library it loaded (compacted ones included)."""
    host, engine = mjit_start()
    compile_methods(host, engine, 1, 2)
    assert mjit_observe.maps(mjit_observe.tmp_dir), "compiled code is not mapped from tmp"
    with deadline(STOP_WAIT, "finish"):
        engine.finish(close_handle=True)
    left = mjit_observe.maps(mjit_observe.tmp_dir)
    assert not left, f"finish(close_handle=True) left libraries mapped: {sorted(map(str, left))}"


@pytest.mark.mjit_clause("FINISH-3")
def test_finish_without_close_handle_keeps_the_code_mapped(mjit_start, mjit_observe):
    """finish(close_handle=False) leaves loaded code mapped and callable (it may still be
    running on some stack)."""
    mjit_observe.allow("maps")  # the clause itself leaves them mapped
    host, engine = mjit_start()
    m, = compile_methods(host, engine, 4)
    func = m.body.jit_func
    mapped = mjit_observe.maps(mjit_observe.tmp_dir)
    with deadline(STOP_WAIT, "finish"):
        engine.finish(close_handle=False)
    assert mjit_observe.maps(mjit_observe.tmp_dir) == mapped
    assert call_jit_func(func, 10) == host.interpret(m, 10)
    assert not mjit_observe.files(), f"finish left files: {sorted(mjit_observe.files())}"


@pytest.mark.mjit_clause("FINISH-4")
def test_finish_is_idempotent_and_later_calls_do_nothing(mjit_start, mjit_cc):
    """A second finish is harmless, and client calls after finish change nothing (pause and
    resume raise EngineStateError)."""
    before = python_threads()
    host, engine = mjit_start()
    m, = compile_methods(host, engine, 5)
    with deadline(STOP_WAIT, "finish"):
        engine.finish()
        engine.finish()
        engine.finish(close_handle=False)
    assert not engine.enabled
    runs = len(mjit_cc.invocations())
    events = len(host.events)

    late = define_affine(host, "late", 6)
    gone = define_affine(host, "gone", 7, root=False)
    with deadline(STOP_WAIT, "client calls after finish"):
        engine.add_iseq_to_process(late)
        assert late.body.jit_func == JitState.NOT_ADDED
        for x in range(3 * host.options.min_calls):
            assert host.call(late, x) == host.interpret(late, x)
        engine.wait(late)
        engine.recompile(m)
        assert host.gc() == [gone]
        assert not list(engine.mark() or ())
        for call in (engine.pause, engine.resume):
            with pytest.raises(EngineStateError):
                call()
    assert late.body.jit_func == JitState.NOT_ADDED
    assert not is_compiled(m.body.jit_func)
    assert len(mjit_cc.invocations()) == runs, "a compiler ran after finish"
    assert not threads_left(before), "a client call after finish started a thread"
    late_events = [e for e in host.events[events:]
                   if e.kind in ("generate_code:enter", "postponed:register", "violation")]
    assert not late_events, f"the engine still worked after finish: {late_events}"


@pytest.mark.mjit_clause("FINISH-5")
def test_call_p_is_false_after_finish(mjit_start):
    """call_p is False after finish, so the host no longer calls compiled code."""
    host, engine = mjit_start()
    m, = compile_methods(host, engine, 8)
    assert engine.call_p
    with deadline(STOP_WAIT, "finish"):
        engine.finish()
    assert engine.call_p is False
    before = len(host.events_of("jit_call"))
    assert host.call(m, 2) == host.interpret(m, 2)
    assert len(host.events_of("jit_call")) == before
    assert not host.violations
