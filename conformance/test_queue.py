"""QUEUE: add_iseq_to_process marks a method NOT_READY and queues it; the worker takes the
most-called queued unit, skips units whose ISeq was freed, numbers units with growing ids,
stops taking units when the cache is full, and nothing is queued after finish."""

import os
import re

import pytest

from pytest_mjit import JitState, is_compiled
from pytest_mjit.testing import (COMPILE_WAIT, STEP_WAIT, call_to_enqueue, compile_methods,
                                 compiled, deadline, define_affine, DirWatch, wait_for)

from ._support import (STOP_WAIT, compaction_links, frames_on_stack, invocations_of, source_of,
                       symbol_at, unit_id_of)


def hold_worker(host, engine, name: str = "blocker"):
    """Queue a method and stop the worker in its code generation; return (method, gate).
    While the gate holds, units queued next stay in the queue."""
    blocker = define_affine(host, name, 2)
    gate = host.gate("generate_code:enter", iseq=blocker)
    engine.add_iseq_to_process(blocker)
    gate.wait_reached(COMPILE_WAIT)
    return blocker, gate


def generation_order(host, iseqs) -> list[str]:
    """Names of ``iseqs`` in the order the worker generated their code."""
    by_id = {iseq.id: iseq.name for iseq in iseqs}
    return [by_id[e.iseq] for e in host.events_of("generate_code:enter") if e.iseq in by_id]


def generated_after_calls(host, engine, calls_by_name) -> list[str]:
    """Behind a held unit, call each method its number of times and then queue it (in the
    given order; min_calls is far away, so no call queues them); return the names in the
    order the worker generated their code."""
    blocker, gate = hold_worker(host, engine)
    methods = []
    for k, (name, calls) in enumerate(calls_by_name, 10):
        m = define_affine(host, name, k)
        for _ in range(calls):
            host.call(m, 1)
        engine.add_iseq_to_process(m)
        methods.append(m)
    gate.release()
    for m in methods:
        compiled(host, engine, m)
    return generation_order(host, methods)


@pytest.mark.mjit_clause("QUEUE-1")
def test_enqueued_method_is_not_ready_at_once(mjit_host, mjit_engine):
    """add_iseq_to_process (from the call path or called directly) leaves jit_func NOT_READY
    when it returns."""
    host, engine = mjit_host, mjit_engine
    by_call, direct = define_affine(host, "by_call", 3), define_affine(host, "direct", 5)
    # Gates keep the worker from finishing either method before the checks.
    gates = [host.gate("generate_code:enter", iseq=m) for m in (by_call, direct)]
    call_to_enqueue(host, by_call, host.options.min_calls)
    assert [e.iseq for e in host.events_of("enqueue")] == [by_call.id]
    assert by_call.body.jit_func == JitState.NOT_READY
    engine.add_iseq_to_process(direct)
    assert direct.body.jit_func == JitState.NOT_READY
    for gate in gates:
        gate.release()
    for m in (by_call, direct):
        compiled(host, engine, m)


@pytest.mark.mjit_clause("QUEUE-1")
def test_method_queued_while_paused_is_not_ready(mjit_host, mjit_engine):
    """A paused engine is still enabled: a method queued then is NOT_READY at once, and the
    resumed worker compiles it."""
    host, engine = mjit_host, mjit_engine
    with deadline(STOP_WAIT, "pause"):
        assert engine.pause(wait=False) is True
    by_call, direct = define_affine(host, "by_call", 3), define_affine(host, "direct", 5)
    call_to_enqueue(host, by_call, host.options.min_calls)
    engine.add_iseq_to_process(direct)
    assert [m.body.jit_func for m in (by_call, direct)] == [JitState.NOT_READY] * 2
    assert engine.resume() is True
    for m in (by_call, direct):
        compiled(host, engine, m)


@pytest.mark.mjit_clause("QUEUE-2")
@pytest.mark.mjit_options(min_calls=1000)
def test_worker_takes_the_most_called_unit_first(mjit_host, mjit_engine):
    """With three units queued behind a held one, the worker generates them in decreasing
    order of their call counts, not in queue order."""
    order = generated_after_calls(mjit_host, mjit_engine, (("few", 1), ("some", 3), ("most", 5)))
    assert order == ["most", "some", "few"]


@pytest.mark.mjit_clause("QUEUE-2")
@pytest.mark.mjit_options(min_calls=1000)
def test_first_queued_among_equally_called_units_goes_first(mjit_host, mjit_engine):
    """Units with equal call counts are generated in the order they were queued, after the
    more-called ones and before the less-called ones."""
    order = generated_after_calls(mjit_host, mjit_engine,
                                  (("a2", 2), ("b5", 5), ("c2", 2), ("d5", 5), ("e0", 0)))
    assert order == ["b5", "d5", "a2", "c2", "e0"]


@pytest.mark.mjit_clause("QUEUE-7")
@pytest.mark.mjit_options(min_calls=1000)
def test_calls_while_queued_raise_priority(mjit_host, mjit_engine):
    """Units queued with equal call counts are generated in the order of the calls they got
    while waiting in the queue."""
    host, engine = mjit_host, mjit_engine
    blocker, gate = hold_worker(host, engine)
    methods = [define_affine(host, name, k) for k, name in enumerate(("few", "some", "most"), 3)]
    for m in methods:
        engine.add_iseq_to_process(m)
    for m, calls in zip(methods, (1, 3, 5), strict=True):
        for _ in range(calls):
            assert host.call(m, 2) == host.interpret(m, 2)
    gate.release()
    for m in methods:
        compiled(host, engine, m)
    assert generation_order(host, methods) == ["most", "some", "few"]


@pytest.mark.mjit_clause("QUEUE-3")
def test_unit_freed_while_queued_is_never_compiled(mjit_cc, mjit_host, mjit_engine,
                                                   mjit_tmpdir):
    """A queued unit whose ISeq is freed reaches neither generate_code nor the compiler, and
    no file of it is ever created (a watch on the tmp dir sees files deleted again too)."""
    host, engine = mjit_host, mjit_engine
    # The worker waits in the blocker's compiler, outside generate_code, so a GC can run.
    hold = mjit_cc.hold(kind="compile", nth=1)
    with DirWatch(mjit_tmpdir) as watch:
        blocker = define_affine(host, "blocker", 2)
        engine.add_iseq_to_process(blocker)
        hold.wait_reached(COMPILE_WAIT)
        dropped = define_affine(host, "dropped", 3, root=False)
        kept = define_affine(host, "kept", 5)
        engine.add_iseq_to_process(dropped)
        engine.add_iseq_to_process(kept)
        # More calls than kept: a worker that still saw it would take it before kept.
        for _ in range(3):
            host.call(dropped, 1)
        # mark() keeps queued ISeqs alive (GC-7), so a sweep would not free it: tell the
        # engine what the sweep tells it about a dead ISeq, inside a GC.
        host.gc_begin()
        engine.free_iseq(dropped)
        host.gc_end()
        hold.release()
        compiled(host, engine, blocker)
        compiled(host, engine, kept)
        created = watch.created()
    assert generation_order(host, [blocker, dropped, kept]) == ["blocker", "kept"]
    compiled_units = {blocker.body.jit_func.unit_id, kept.body.jit_func.unit_id}
    sources = [source_of(i) for i in invocations_of(mjit_cc, "compile")]
    assert {unit_id_of(s) for s in sources} == compiled_units, sources
    compactions = {os.path.basename(link.output) for link in compaction_links(mjit_cc)}
    strays = [n for n in created if re.fullmatch(r"_ruby_mjit_p\d+u\d+\.(c|o|so)", n)
              and unit_id_of(n) not in compiled_units and n not in compactions]
    assert not strays, f"files of no compiled unit were created: {strays}"
    assert not host.violations, host.violations


@pytest.mark.mjit_clause("QUEUE-3")
def test_unit_freed_while_queued_in_a_disabled_engine_is_forgotten(mjit_cc, mjit_start):
    """A failed header build disabled the engine with a unit still queued; a GC frees that
    unit's ISeq (unless the engine still marks it); finish then reads nothing of the freed
    ISeq, whether it frees the units it holds or leaves them."""
    build = mjit_cc.hang(kind="pch")    # exits 1 once released: the header fails
    host, engine = mjit_start()
    build.wait_reached(COMPILE_WAIT)
    queued = define_affine(host, "queued", 3)
    call_to_enqueue(host, queued, host.options.min_calls)
    build.release()
    wait_for(lambda: not engine.enabled, STEP_WAIT, "the engine to disable itself")
    host.unroot(queued)
    host.gc()       # the C's mjit_mark, like mjit_free_iseq, does nothing once disabled
    engine.finish()
    assert not host.violations, host.violations


@pytest.mark.mjit_clause("QUEUE-4")
def test_unit_ids_grow_and_name_the_function(mjit_cc, mjit_host, mjit_engine):
    """Units compiled one after the other get distinct, growing ids; each method's code is
    the symbol _mjit<id> of its unit, compiled from the .c named with that id."""
    host, engine = mjit_host, mjit_engine
    methods = [define_affine(host, f"m{k}", k) for k in (3, 5, 7)]
    for m in methods:
        call_to_enqueue(host, m, host.options.min_calls)
        compiled(host, engine, m)
    ids = [m.body.jit_func.unit_id for m in methods]
    assert ids == sorted(set(ids)), f"unit ids are not distinct and growing: {ids}"
    for m, unit_id in zip(methods, ids, strict=True):
        assert symbol_at(m.body.jit_func.address) == f"_mjit{unit_id}", m.name
        assert host.call(m, 4) == host.interpret(m, 4)
    source_ids = [unit_id_of(source_of(i)) for i in invocations_of(mjit_cc, "compile")]
    assert source_ids == ids


@pytest.mark.mjit_clause("QUEUE-5")
def test_finished_engine_ignores_new_methods(mjit_cc, mjit_host, mjit_engine):
    """After finish, add_iseq_to_process leaves the method NOT_ADDED and nothing is compiled;
    the method keeps running in the interpreter."""
    host, engine = mjit_host, mjit_engine
    before = define_affine(host, "before", 3)
    call_to_enqueue(host, before, host.options.min_calls)
    compiled(host, engine, before)
    engine.finish()
    runs = len(mjit_cc.invocations())
    late = define_affine(host, "late", 5)
    engine.add_iseq_to_process(late)
    assert late.body.jit_func == JitState.NOT_ADDED
    for x in range(2 * host.options.min_calls):
        assert host.call(late, x) == host.interpret(late, x)
    assert late.body.jit_func == JitState.NOT_ADDED
    assert late.id not in [e.iseq for e in host.events_of("generate_code:enter")]
    assert len(mjit_cc.invocations()) == runs


@pytest.mark.mjit_clause("QUEUE-6")
@pytest.mark.mjit_options(max_cache_size=10, wait_timeout=1.0)
def test_full_cache_dequeues_nothing(mjit_host, mjit_engine):
    """With max_cache_size active units that cannot be unloaded (all on the stack), a newly
    queued method is not taken by the worker for a whole wait_timeout."""
    host, engine = mjit_host, mjit_engine
    methods = compile_methods(host, engine, *range(10), timeout=COMPILE_WAIT)
    extra = define_affine(host, "extra", 99)
    # Frames on the stack pin every unit, so unloading cannot make room (UNLOAD-2).
    with frames_on_stack(host, methods):
        call_to_enqueue(host, extra, host.options.min_calls)
        # The main thread stays responsive (postponed jobs run) while the queue is watched.
        host.sleep(host.options.wait_timeout)
        assert extra.id not in [e.iseq for e in host.events_of("generate_code:enter")]
        assert extra.body.jit_func == JitState.NOT_READY
    assert all(is_compiled(m.body.jit_func) for m in methods)
