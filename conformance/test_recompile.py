"""RECOMPILE: recompile of compiled code queues the method again under a new unit, keeps the
old code loaded until finish, does nothing for a method without code, and GC of the method
also forgets it in the units recompile left behind."""

from __future__ import annotations

import pytest

from pytest_mjit import JitState
from pytest_mjit.host import library_at
from pytest_mjit.testing import call_to_enqueue, compiled, define_affine, settle

from ._support import call_jit_func, runs_compiled, symbol_at, wait_compacted

pytestmark = pytest.mark.mjit_requires("recompile")


def generations(host, iseq) -> int:
    """How many times code generation started for ``iseq``."""
    return len([e for e in host.events_of("generate_code:enter") if e.iseq == iseq.id])


def compile_one(host, engine, name: str = "a", k: int = 7):
    """Define a method and compile it through the call path."""
    iseq = define_affine(host, name, k)
    call_to_enqueue(host, iseq, host.options.min_calls)
    return iseq, compiled(host, engine, iseq)


@pytest.mark.mjit_clause("RECOMPILE-1")
def test_recompile_gives_new_code_under_a_new_unit(mjit_host, mjit_engine):
    """After recompile the method is generated again and runs code of a new, higher unit id."""
    host, engine = mjit_host, mjit_engine
    a, old = compile_one(host, engine)
    engine.recompile(a)
    new = compiled(host, engine, a)
    assert new.unit_id > old.unit_id
    assert library_at(new.address) != library_at(old.address)
    assert generations(host, a) == 2
    since = len(host.events)
    for x in (0, 3, -(2**61)):
        assert host.call(a, x) == host.interpret(a, x)
    assert [e.detail for e in host.events[since:] if e.kind == "jit_call"] == \
        [f"unit {new.unit_id}"] * 3


@pytest.mark.mjit_clause("RECOMPILE-1")
@pytest.mark.mjit_requires("compaction")
def test_compaction_after_recompile_keeps_the_new_code(mjit_cc, mjit_host, mjit_engine):
    """A compaction after a recompile binds the method to its new unit's function, never
    back to the code the recompile replaced."""
    host, engine = mjit_host, mjit_engine
    a, old = compile_one(host, engine, "a", 7)
    b, _ = compile_one(host, engine, "b", 9)
    engine.recompile(a)
    new = compiled(host, engine, a)
    wait_compacted(mjit_cc, [a, b], "a's new code and b to be compacted together")
    func = a.body.jit_func
    # A compaction that raced the recompile may have published the old code as the new.
    assert old.unit_id not in (new.unit_id, func.unit_id), \
        f"a runs unit {func.unit_id} after a compaction; the recompile replaced {old.unit_id}"
    assert (func.unit_id, symbol_at(func.address)) == (new.unit_id, f"_mjit{new.unit_id}")
    assert runs_compiled(host, a, 5)


@pytest.mark.mjit_clause("RECOMPILE-2")
def test_replaced_code_stays_callable_until_finish(mjit_host, mjit_engine):
    """Code replaced by recompile, still running in a frame, stays mapped and correct."""
    host, engine = mjit_host, mjit_engine
    a, old = compile_one(host, engine)
    old_library = library_at(old.address)
    with host.frame(a):
        engine.recompile(a)
        new = compiled(host, engine, a)
        assert new.unit_id != old.unit_id
        # Were the old library closed, the new one could be mapped at the same address.
        assert library_at(old.address) == old_library
        for x in (0, 5, -9, 2**50):
            assert call_jit_func(old, x) == host.interpret(a, x)
    assert library_at(old.address) == old_library
    assert call_jit_func(old, 11) == host.call(a, 11)


@pytest.mark.mjit_clause("RECOMPILE-3")
def test_recompile_without_code_does_nothing(mjit_cc, mjit_start):
    """recompile leaves NOT_ADDED, NOT_COMPILED and NOT_READY methods as they are."""
    mjit_cc.fail(kind="compile", nth=1)
    host, engine = mjit_start()
    fresh = define_affine(host, "fresh", 3)
    failed = define_affine(host, "failed", 4)
    queued = define_affine(host, "queued", 5)
    call_to_enqueue(host, failed, host.options.min_calls)
    assert settle(host, engine, failed) == JitState.NOT_COMPILED
    in_progress = host.gate("generate_code:enter", iseq=queued)
    call_to_enqueue(host, queued, host.options.min_calls)
    in_progress.wait_reached(10)
    try:
        for iseq in (fresh, failed, queued):
            engine.recompile(iseq)
        assert fresh.body.jit_func == JitState.NOT_ADDED
        assert failed.body.jit_func == JitState.NOT_COMPILED
        assert queued.body.jit_func == JitState.NOT_READY
    finally:
        in_progress.release()
    compiled(host, engine, queued)
    # A later unit is dequeued only after any duplicate of `queued`, which ties with it.
    _later, _ = compile_one(host, engine, "later", 6)
    assert [generations(host, i) for i in (fresh, failed, queued)] == [0, 1, 1]
    assert fresh.body.jit_func == JitState.NOT_ADDED
    assert failed.body.jit_func == JitState.NOT_COMPILED


@pytest.mark.mjit_clause("RECOMPILE-4")
def test_freed_iseq_is_forgotten_by_its_replaced_units(mjit_host, mjit_engine):
    """After GC frees a recompiled method, nothing of the engine touches it, finish included."""
    host, engine = mjit_host, mjit_engine
    a, _old = compile_one(host, engine)
    engine.recompile(a)
    compiled(host, engine, a)
    host.unroot(a)
    assert host.gc() == [a]
    engine.finish()
    assert not host.violations, host.violations
