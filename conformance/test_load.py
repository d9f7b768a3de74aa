"""LOAD: a method gets compiled code only once its unit's library is loaded and _mjit<id>
resolved; a library that does not load or lacks the symbol leaves it interpreted; a result
for an ISeq freed meanwhile is dropped; a failed method is never queued again."""

import os

import pytest

from pytest_mjit import JitState, is_compiled
from pytest_mjit.host import library_at
from pytest_mjit.testing import COMPILE_WAIT, call_to_enqueue, compiled, define_affine, settle

from ._support import (held_invocation, invocations_of, pass_to_next_unit, source_of, symbol_at,
                       unit_file_names, unit_id_of, unit_library_mapped, unit_path)


def compile_with_source(mjit_cc, host, engine, source) -> tuple:
    """Queue a method, replace its unit's .c while the compiler is held by ``source(id)``
    (C for unit ``id``), let the compile go on and wait for the outcome.
    Returns (method, unit id, jit_func)."""
    hold = mjit_cc.hold(kind="compile", nth=1)
    m = define_affine(host, "m", 3)
    call_to_enqueue(host, m, host.options.min_calls)
    hold.wait_reached(COMPILE_WAIT)
    c_file = source_of(held_invocation(mjit_cc, hold))
    unit_id = unit_id_of(c_file)
    with open(c_file, "w") as f:
        f.write(source(unit_id))
    hold.release()
    return m, unit_id, settle(host, engine, m)


def interpreted_for_good(host, m) -> None:
    """``m`` is left to the interpreter: calls return the interpreter's values and never
    queue it again."""
    enqueued = len(host.events_of("enqueue"))
    for x in range(2 * host.options.min_calls):
        assert host.call(m, x) == host.interpret(m, x)
    assert len(host.events_of("enqueue")) == enqueued
    assert not is_compiled(m.body.jit_func)


@pytest.mark.mjit_clause("LOAD-1")
def test_code_is_published_only_once_loaded(mjit_cc, mjit_host, mjit_engine, mjit_tmpdir):
    """While the unit's link is held the method stays NOT_READY and interpreted; then its
    jit_func is the symbol _mjit<id> inside the unit's own library."""
    host, engine = mjit_host, mjit_engine
    link = mjit_cc.hold(kind="link")
    m = define_affine(host, "m", 3)
    call_to_enqueue(host, m, host.options.min_calls)
    link.wait_reached(COMPILE_WAIT)
    unit_id = unit_id_of(held_invocation(mjit_cc, link).output)
    assert m.body.jit_func == JitState.NOT_READY
    assert not unit_library_mapped(mjit_tmpdir, unit_id)
    assert host.call(m, 4) == host.interpret(m, 4)
    assert not host.events_of("jit_call")
    link.release()
    func = compiled(host, engine, m)
    assert func.unit_id == unit_id
    assert library_at(func.address) == unit_path(mjit_tmpdir, os.getpid(), unit_id, ".so")
    assert symbol_at(func.address) == f"_mjit{unit_id}"


@pytest.mark.mjit_clause("LOAD-1")
def test_missing_symbol_leaves_the_method_interpreted(mjit_cc, mjit_host, mjit_engine):
    """A library that loads but lacks _mjit<id> gives no code: the method stays interpreted
    (the C stores dlsym's NULL, NOT_ADDED; the clause says NOT_COMPILED: either is accepted)
    and is not queued again."""
    host, engine = mjit_host, mjit_engine
    m, unit_id, func = compile_with_source(
        mjit_cc, host, engine,
        lambda unit_id: "long long mjit_conformance_other(long long *args) { return 0; }\n")
    assert func in (JitState.NOT_COMPILED, JitState.NOT_ADDED), func
    [link] = invocations_of(mjit_cc, "link")
    assert link.ok, "the library was not even built"
    interpreted_for_good(host, m)


@pytest.mark.mjit_clause("LOAD-1")
def test_library_that_fails_to_load_leaves_the_method_interpreted(mjit_cc, mjit_host,
                                                                  mjit_engine):
    """A library whose dlopen fails (RTLD_NOW meets an undefined function) gives no code:
    the method stays interpreted and is not queued again."""
    host, engine = mjit_host, mjit_engine
    m, unit_id, func = compile_with_source(
        mjit_cc, host, engine,
        lambda unit_id: ("extern long long mjit_conformance_undefined(long long);\n"
                         f"long long _mjit{unit_id}(long long *args)\n"
                         "{ return mjit_conformance_undefined(args[0]); }\n"))
    assert func in (JitState.NOT_COMPILED, JitState.NOT_ADDED), func
    [link] = invocations_of(mjit_cc, "link")
    assert link.ok, "the library was not even built"
    interpreted_for_good(host, m)


@pytest.mark.mjit_clause("LOAD-2")
def test_result_for_freed_iseq_is_dropped(mjit_cc, mjit_host, mjit_engine, mjit_tmpdir):
    """An ISeq freed by GC while its unit is being linked gets nothing written into it; its
    unit's library is closed and its files removed."""
    host, engine = mjit_host, mjit_engine
    link = mjit_cc.hold(kind="link")
    doomed = define_affine(host, "doomed", 3, root=False)
    call_to_enqueue(host, doomed, host.options.min_calls)
    link.wait_reached(COMPILE_WAIT)
    unit_id = unit_id_of(held_invocation(mjit_cc, link).output)
    # Dequeued and not in a copy job: nothing keeps it alive.
    assert doomed in host.gc()
    # The worker handles one unit at a time, so reaching the next unit's code generation
    # proves the doomed unit's result has been dealt with.
    following, barrier = pass_to_next_unit(host, link.release)
    try:
        assert not host.violations, host.violations
        assert not unit_library_mapped(mjit_tmpdir, unit_id)
        assert unit_file_names(mjit_tmpdir, unit_id) == []
    finally:
        barrier.release()
    compiled(host, engine, following)
    assert not host.violations, host.violations


@pytest.mark.mjit_clause("LOAD-3")
def test_failed_method_is_never_queued_again(mjit_cc, mjit_host, mjit_engine):
    """After its compile failed a method is NOT_COMPILED for good: more calls neither queue
    it again nor start another compile of it."""
    host, engine = mjit_host, mjit_engine
    mjit_cc.fail(kind="compile", nth=1)
    m = define_affine(host, "m", 3)
    call_to_enqueue(host, m, host.options.min_calls)
    assert settle(host, engine, m) == JitState.NOT_COMPILED
    interpreted_for_good(host, m)
    assert m.body.jit_func == JitState.NOT_COMPILED
    # The worker takes units one at a time: once this one is compiled, a retry of m would
    # have shown up in the compiler log.
    following = define_affine(host, "following", 5)
    call_to_enqueue(host, following, host.options.min_calls)
    compiled(host, engine, following)
    assert m.body.jit_func == JitState.NOT_COMPILED
    assert len(invocations_of(mjit_cc, "compile")) == 2, mjit_cc.describe()
