"""UNLOAD: enqueueing into a full cache unloads the least-called code that no frame runs,
after dropping the units of freed ISeqs; unloaded code is closed, its files removed, and the
method stays interpreted for good."""

from __future__ import annotations

import pytest

from pytest_mjit import JitState, is_compiled

from pytest_mjit.host import Insn
from pytest_mjit.testing import call_to_enqueue, compiled, define_affine

from ._support import frames_on_stack, runs_compiled, unit_file_names, unit_library_mapped

pytestmark = pytest.mark.mjit_requires("unload")


def fill_cache(mjit_cc, mjit_start, size: int, define_m0=None, **overrides):
    """Start an engine with ``max_cache_size=size`` and compile ``size`` methods m0..m<size-1>;
    m<i> ends with ``min_calls + i`` calls, so m0 is the least called.  ``define_m0(host)``,
    when given, defines m0 (it is called with 1, like the others)."""
    # Outside wait mode, queueing them all behind the PCH build spares a compaction per unit.
    waits = overrides.get("wait", mjit_start.options.wait)
    pch = None if waits else mjit_cc.hold(kind="pch")
    host, engine = mjit_start(max_cache_size=size, **overrides)
    first = define_affine(host, "m0", 2) if define_m0 is None else define_m0(host)
    iseqs = [first] + [define_affine(host, f"m{i}", i + 2) for i in range(1, size)]
    min_calls = host.options.min_calls
    for iseq in iseqs:
        call_to_enqueue(host, iseq, min_calls)
    if pch is not None:
        pch.release()
    for iseq in iseqs:
        compiled(host, engine, iseq)
    for i, iseq in enumerate(iseqs):
        call_to_enqueue(host, iseq, min_calls + i)
    return host, engine, iseqs


def enqueue_extra(host, engine, name: str = "extra"):
    """Define one more method and call it until it is handed to the engine."""
    extra = define_affine(host, name, 1000)
    call_to_enqueue(host, extra, host.options.min_calls)
    return extra


def compiled_names(iseqs) -> list[str]:
    return [i.name for i in iseqs if is_compiled(i.body.jit_func)]


@pytest.mark.mjit_clause("UNLOAD-1")
def test_full_cache_unloads_a_tenth_least_called_first(mjit_cc, mjit_start):
    """With 20 of 20 units active, a new method unloads the two least-called ones."""
    host, engine, ms = fill_cache(mjit_cc, mjit_start, 20)
    extra = enqueue_extra(host, engine)
    # The worker dequeues nothing while the cache is full, so once the new method is
    # compiled the unloading has happened.
    compiled(host, engine, extra)
    assert compiled_names(ms) == [m.name for m in ms[2:]]
    for m in ms[:2]:
        assert host.call(m, 5) == host.interpret(m, 5)


@pytest.mark.mjit_clause("UNLOAD-2")
def test_code_on_a_stack_is_not_unloaded(mjit_cc, mjit_start):
    """The two least-called methods have frames on a stack; the third least-called goes."""
    host, engine, ms = fill_cache(mjit_cc, mjit_start, 10)
    with host.frame(ms[0]), host.frame(ms[1]):
        extra = enqueue_extra(host, engine)
        compiled(host, engine, extra)
    assert compiled_names(ms) == [m.name for m in ms if m is not ms[2]]
    assert host.call(ms[0], 4) == host.interpret(ms[0], 4)


def define_calling_on_zero(host, callee, name: str):
    """``name(x) = x != 0 ? 2 : callee(0)``: called with 1 it calls nothing."""
    code = [Insn("arg", 0), Insn("branchif", 5), Insn("arg", 0), Insn("call", 0, 1),
            Insn("ret"), Insn("push", 2), Insn("ret")]
    return host.define(name, code, argc=1, calls=[callee])


@pytest.mark.mjit_clause("UNLOAD-2")
def test_code_of_a_running_frame_is_not_unloaded(mjit_cc, mjit_start):
    """The least-called method is running (in the interpreter, as a call begun before its
    code was ready) when a call it makes enqueues a method into the full cache: its code
    stays, the second least-called goes."""
    extras = []

    def define_m0(host):
        extras.append(define_affine(host, "extra", 1000))
        return define_calling_on_zero(host, extras[0], "m0")
    host, engine, ms = fill_cache(mjit_cc, mjit_start, 10, define_m0=define_m0)
    running, extra = ms[0], extras[0]
    assert is_compiled(running.body.jit_func)
    call_to_enqueue(host, extra, host.options.min_calls - 1)
    # The call of extra inside m0 is the one that hands it to the engine; m0's frame is on
    # the running thread's stack meanwhile, not held as a continuation.
    since = len(host.events)
    assert host.interpret(running, 0) == 1000
    assert [e.iseq for e in host.events[since:] if e.kind == "enqueue"] == [extra.id]
    compiled(host, engine, extra)
    assert compiled_names(ms) == [m.name for m in ms if m is not ms[1]]
    assert runs_compiled(host, running, 0)


@pytest.mark.mjit_clause("UNLOAD-3")
def test_unloaded_method_is_not_compiled_and_never_queued_again(mjit_cc, mjit_start):
    """The unloaded method becomes NOT_COMPILED and later calls interpret it without queueing."""
    host, engine, ms = fill_cache(mjit_cc, mjit_start, 10)
    extra = enqueue_extra(host, engine)
    compiled(host, engine, extra)
    victim = ms[0]
    assert victim.body.jit_func == JitState.NOT_COMPILED
    since = len(host.events)
    for x in range(-3, 12):
        assert host.call(victim, x) == host.interpret(victim, x)
    later = [e for e in host.events[since:] if e.iseq == victim.id]
    assert [e.kind for e in later if e.kind in ("enqueue", "jit_call")] == []
    assert victim.body.jit_func == JitState.NOT_COMPILED


@pytest.mark.mjit_clause("UNLOAD-4")
def test_unloaded_code_is_closed_and_its_object_file_removed(mjit_cc, mjit_start, mjit_tmpdir):
    """The unloaded unit's own library is unmapped and its .o deleted."""
    host, engine, ms = fill_cache(mjit_cc, mjit_start, 10)
    unit_id = ms[0].body.jit_func.unit_id
    assert unit_library_mapped(mjit_tmpdir, unit_id)
    assert [n for n in unit_file_names(mjit_tmpdir, unit_id) if n.endswith(".o")]
    extra = enqueue_extra(host, engine)
    compiled(host, engine, extra)
    assert not is_compiled(ms[0].body.jit_func)
    assert unit_file_names(mjit_tmpdir, unit_id) == []
    assert not unit_library_mapped(mjit_tmpdir, unit_id)
    # The other units keep theirs.
    for m in ms[1:]:
        assert unit_library_mapped(mjit_tmpdir, m.body.jit_func.unit_id), m.name


@pytest.mark.mjit_clause("UNLOAD-5")
def test_units_of_freed_iseqs_are_dropped_first(mjit_cc, mjit_start, mjit_tmpdir):
    """When a freed ISeq's unit makes the room, no live method is unloaded."""
    host, engine, ms = fill_cache(mjit_cc, mjit_start, 10)
    freed = ms[5]
    unit_id = freed.body.jit_func.unit_id
    host.unroot(freed)
    assert host.gc() == [freed]
    assert [n for n in unit_file_names(mjit_tmpdir, unit_id) if n.endswith(".o")]
    extra = enqueue_extra(host, engine)
    compiled(host, engine, extra)
    live = [m for m in ms if m is not freed]
    assert compiled_names(live) == [m.name for m in live]
    assert unit_file_names(mjit_tmpdir, unit_id) == []
    assert not unit_library_mapped(mjit_tmpdir, unit_id)
    assert not host.violations, host.violations


@pytest.mark.mjit_clause("UNLOAD-6")
@pytest.mark.mjit_options(wait=True)
def test_wait_mode_grows_a_cache_of_code_on_stacks(mjit_cc, mjit_start):
    """In wait mode, with every cached method on a stack, the waiting call still gets code."""
    host, engine, ms = fill_cache(mjit_cc, mjit_start, 10)
    with frames_on_stack(host, ms):
        extra = define_affine(host, "extra", 1000)
        host.call(extra, 1)
        since = len(host.events)
        assert host.call(extra, 6) == host.interpret(extra, 6)
    assert is_compiled(extra.body.jit_func), extra.body.jit_func
    assert [e.kind for e in host.events[since:] if e.iseq == extra.id][-1] == "jit_call"
    assert compiled_names(ms) == [m.name for m in ms]


@pytest.mark.mjit_clause("UNLOAD-4")
@pytest.mark.mjit_requires("fork")
def test_unload_in_a_forked_child_keeps_the_parents_object_file(mjit_cc, mjit_start,
                                                                 mjit_tmpdir):
    """A child that unloads a unit compiled before the fork leaves the parent's .o alone."""
    host, engine, ms = fill_cache(mjit_cc, mjit_start, 10)
    victim, unit_id = ms[0], ms[0].body.jit_func.unit_id
    parent_object = [n for n in unit_file_names(mjit_tmpdir, unit_id) if n.endswith(".o")]
    assert parent_object

    def unload_in_child(child_host):
        extra = enqueue_extra(child_host, child_host.engine)
        compiled(child_host, child_host.engine, extra)
        return (victim.body.jit_func == JitState.NOT_COMPILED,
                unit_file_names(mjit_tmpdir, unit_id))

    forked = host.fork(unload_in_child)
    assert forked.error is None, forked.error
    unloaded, files_after_unload = forked.result
    assert unloaded, "the child did not unload the least-called method"
    assert set(parent_object) <= set(files_after_unload), "the child's unload removed it"
    assert set(parent_object) <= set(unit_file_names(mjit_tmpdir, unit_id))
    assert is_compiled(victim.body.jit_func)
