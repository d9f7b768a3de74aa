"""GC: roots, reachability through call caches, engine.mark, free_iseq order, hooks."""

from __future__ import annotations

import io
import threading

import pytest
from test_host_support import add_iseq, make_host

from pytest_mjit import MjitError
from pytest_mjit.testing import wait_event

@pytest.fixture
def vm():
    host, engine = make_host()
    with host:
        yield host, engine


def test_unrooted_iseqs_are_freed_with_the_engine_told_first(vm):
    host, engine = vm
    add = add_iseq(host)
    keep = host.define("keep", [("push", 1), ("ret",)])
    host.unroot(add)
    assert host.gc() == [add]
    assert add.freed and not keep.freed
    assert engine.names() == ["gc_start_hook", "mark", "free_iseq", "gc_exit_hook"]
    assert engine.freed_flags == [False]   # free_iseq runs before the ISeq is marked freed
    kinds = [e.kind for e in host.events if e.kind != "call"]
    assert kinds == ["gc_start_hook:enter", "gc_start_hook:exit", "free_iseq",
                     "gc_exit_hook:enter", "gc_exit_hook:exit"]
    assert host.iseqs == [keep]


def test_a_rooted_caller_keeps_its_callee_alive(vm):
    host, _ = vm
    add = add_iseq(host)
    caller = host.define("caller", [("push", 1), ("push", 2), ("call", 0, 2), ("ret",)],
                         calls=[add])
    host.unroot(add)
    assert host.gc() == []
    host.unroot(caller)
    assert {i.name for i in host.gc()} == {"add", "caller"}


def test_engine_mark_and_frames_keep_iseqs_alive(vm):
    host, engine = vm
    marked, framed = add_iseq(host), add_iseq(host)
    host.unroot(marked)
    host.unroot(framed)
    engine.keep_alive = [marked]
    with host.frame(framed):
        assert host.gc() == []
        assert set(host.iseqs_on_stack()) == {framed}
    engine.keep_alive = []
    assert set(host.gc()) == {marked, framed}


def test_reading_a_freed_body_is_a_violation_and_calling_it_an_error(vm):
    host, _ = vm
    add = add_iseq(host)
    host.unroot(add)
    host.gc()
    assert host.violations == []
    _ = add.body
    [violation] = host.violations
    assert "body of freed ISeq 'add'" in violation.detail
    with pytest.raises(MjitError, match="was freed by GC"):
        host.call(add, 1, 2)


def test_gc_phases_must_be_in_order(vm):
    host, _ = vm
    with pytest.raises(MjitError, match="call gc_begin first"):
        host.gc_sweep()
    with pytest.raises(MjitError, match="not in GC"):
        host.gc_end()
    host.gc_begin()
    assert host.in_gc
    with pytest.raises(MjitError, match="already in GC"):
        host.gc_begin()
    host.gc_end()
    assert not host.in_gc


def test_gc_off_the_main_thread_is_an_error(vm):
    host, _ = vm
    errors = []
    t = threading.Thread(target=lambda: errors.append(_raises(host.gc)), name="other")
    t.start()
    t.join(30)
    assert "must be called on the host's main thread" in errors[0]


def _raises(fn) -> str:
    try:
        fn()
    except MjitError as exc:
        return str(exc)
    return ""


def test_generate_code_entered_during_gc_is_a_violation(vm):
    host, engine = vm
    add = add_iseq(host)
    host.gc_begin()
    try:
        t = threading.Thread(target=host.generate_code,
                             args=(io.StringIO(), add, "_mjit1", None, engine), name="worker")
        t.start()
        t.join(30)
    finally:
        host.gc_end()
    [violation] = host.violations
    assert "generate_code entered while the host is in GC" in violation.detail
    assert violation.thread == "worker"


def test_gc_started_during_generate_code_is_a_violation(vm):
    """The stand-in's gc_start_hook does not wait for in_jit, so GC-2 is broken."""
    host, engine = vm
    add = add_iseq(host)
    gate = host.gate("generate_code:enter")
    t = threading.Thread(target=host.generate_code,
                         args=(io.StringIO(), add, "_mjit1", None, engine), name="worker")
    t.start()
    gate.wait_reached()
    host.gc()
    gate.release()
    t.join(30)
    [violation] = host.violations
    assert "GC started while generate_code runs" in violation.detail


def test_gc_during_a_copy_job_wait_is_allowed(vm):
    host, engine = vm
    host.set_const("K", 3)
    m = host.define("m", [("getconst", 0), ("ret",)], consts=["K"])
    in_copy, gc_done = threading.Event(), threading.Event()

    def copy(iseq, cc, is_):
        in_copy.set()
        wait_event(gc_done, 30, "the main thread's GC")
        return False

    engine.copy_cache_from_main_thread = copy
    result = []
    t = threading.Thread(target=lambda: result.append(
        host.generate_code(io.StringIO(), m, "_mjit1", None, engine)), name="worker")
    t.start()
    wait_event(in_copy, 30, "the worker's copy job")
    host.gc()
    gc_done.set()
    t.join(30)
    assert result == [False]
    assert host.violations == []
