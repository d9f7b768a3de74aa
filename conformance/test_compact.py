"""COMPACT: when the queue drains (or the cache fills), every active unit's code is linked into
one library and every live ISeq is rebound to it; a failed compaction changes nothing.  The
compacted library lives as long as code bound into it may run: unloading a unit, finish
without close_handle and save_temps all keep it."""

from __future__ import annotations

import os

import pytest

from pytest_mjit import JitState, is_compiled
from pytest_mjit.host import library_at
from pytest_mjit.testing import COMPILE_WAIT, call_to_enqueue, compiled, deadline, define_affine

from ._support import (STOP_WAIT, call_jit_func, compaction_links, invocations_of, libraries_of,
                       object_inputs, pass_to_next_unit, runs_compiled, source_of, unit_file_names,
                       wait_compacted)

pytestmark = pytest.mark.mjit_requires("compaction")

ARGS = (0, 1, -7, 2**40, -(2**62))


def queue_then_compile(mjit_cc, mjit_start, names, **overrides):
    """Start an engine with its PCH build held, queue one method per name, then let the
    worker go: the queue drains once, after the last of them."""
    pch = mjit_cc.hold(kind="pch")
    host, engine = mjit_start(**overrides)
    iseqs = [define_affine(host, name, k) for k, name in enumerate(names, 2)]
    for iseq in iseqs:
        call_to_enqueue(host, iseq, host.options.min_calls)
    pch.release()
    for iseq in iseqs:
        compiled(host, engine, iseq)
    return host, engine, iseqs


@pytest.mark.mjit_clause("COMPACT-1")
def test_drained_queue_links_all_units_into_one_library(mjit_cc, mjit_start, mjit_tmpdir):
    """Once the queue drains with three active units, all three run from one library."""
    host, engine, iseqs = queue_then_compile(mjit_cc, mjit_start, ["a", "b", "c"])
    library = wait_compacted(mjit_cc, iseqs, "the three methods to be rebound to one library")
    assert library.startswith(f"{mjit_tmpdir}/")
    [link] = [link for link in compaction_links(mjit_cc) if link.output == library]
    compiles = [i for i in mjit_cc.invocations() if i.kind == "compile"]
    assert sorted(object_inputs(link)) == sorted(i.output for i in compiles)


@pytest.mark.mjit_clause("COMPACT-2")
def test_compacted_code_returns_interpreter_results(mjit_cc, mjit_start):
    """Every method rebound to the compacted library still returns the interpreter's values."""
    host, engine, iseqs = queue_then_compile(mjit_cc, mjit_start, ["a", "b", "c", "d"])
    library = wait_compacted(mjit_cc, iseqs, "the four methods to be rebound to one library")
    for iseq in iseqs:
        for x in ARGS:
            assert host.call(iseq, x) == host.interpret(iseq, x), (iseq.name, x)
    jit_calls = [e for e in host.events_of("jit_call") if e.iseq in {i.id for i in iseqs}]
    assert len(jit_calls) == len(iseqs) * len(ARGS)
    assert libraries_of(iseqs) == [library] * len(iseqs)


@pytest.mark.mjit_clause("COMPACT-3")
def test_failed_compaction_link_keeps_every_jit_func(mjit_cc, mjit_start):
    """A compaction link that fails leaves both methods on their own, working code."""
    # Links 1 and 2 are the units' own; the third is the compaction of both.
    compaction = mjit_cc.hang(kind="link", nth=3)
    host, engine, (a, b) = queue_then_compile(mjit_cc, mjit_start, ["a", "b"])
    compaction.wait_reached(COMPILE_WAIT)
    before = [a.body.jit_func, b.body.jit_func]
    libraries = libraries_of([a, b])
    assert libraries[0] != libraries[1]
    # The worker compiles nothing else until the compaction attempt is over, so reaching
    # the next method's code generation proves the failure has been handled.
    c, next_unit = pass_to_next_unit(host, compaction.release, "c", 9)
    try:
        assert [a.body.jit_func, b.body.jit_func] == before
        assert libraries_of([a, b]) == libraries
        for iseq in (a, b):
            for x in ARGS:
                assert host.call(iseq, x) == host.interpret(iseq, x), (iseq.name, x)
        assert not host.violations, host.violations
    finally:
        next_unit.release()
    compiled(host, engine, c)


@pytest.mark.mjit_clause("COMPACT-4")
def test_compaction_skips_iseq_freed_after_compile(mjit_cc, mjit_start):
    """An ISeq freed between its compile and the compaction is neither touched nor kept."""
    second_compile = mjit_cc.hold(kind="compile", nth=2)
    host, engine = mjit_start()
    a, b = define_affine(host, "a", 3), define_affine(host, "b", 5)
    call_to_enqueue(host, a, host.options.min_calls)
    call_to_enqueue(host, b, host.options.min_calls)
    second_compile.wait_reached(COMPILE_WAIT)
    # a's unit is active; b is in the compiler, so no compaction can have run yet.
    compiled(host, engine, a)
    assert compaction_links(mjit_cc) == []
    host.unroot(a)
    assert a in host.gc()
    second_compile.release()
    compiled(host, engine, b)
    wait_compacted(mjit_cc, [b], "b to be rebound to the compacted library")
    # Nothing wrote a's body after GC freed it, and the engine does not mark it again.
    host.gc()
    assert not host.violations, host.violations
    assert a not in host.iseqs
    for x in ARGS:
        assert host.call(b, x) == host.interpret(b, x)


@pytest.mark.mjit_clause("COMPACT-5")
def test_object_files_kept_for_later_compaction_until_finish(mjit_cc, mjit_start, mjit_tmpdir):
    """The .o files stay after a compaction, a later one relinks them all, finish deletes them."""
    host, engine, (a, b) = queue_then_compile(mjit_cc, mjit_start, ["a", "b"])
    first = wait_compacted(mjit_cc, [a, b], "a and b to be compacted")
    objects = {a: unit_file_names(mjit_tmpdir, a.body.jit_func.unit_id),
               b: unit_file_names(mjit_tmpdir, b.body.jit_func.unit_id)}
    assert all(any(n.endswith(".o") for n in names) for names in objects.values()), objects

    c = define_affine(host, "c", 11)
    call_to_enqueue(host, c, host.options.min_calls)
    compiled(host, engine, c)
    second = wait_compacted(mjit_cc, [a, b, c], "a, b and c to be compacted together")
    assert second != first
    [link] = [link for link in compaction_links(mjit_cc) if link.output == second]
    assert len(object_inputs(link)) == 3
    for x in ARGS:
        assert [host.call(i, x) for i in (a, b, c)] == [host.interpret(i, x) for i in (a, b, c)]

    engine.finish()
    assert not [n for n in mjit_tmpdir.iterdir() if n.suffix == ".o"]


@pytest.mark.mjit_clause("COMPACT-6")
@pytest.mark.mjit_options(wait=True, max_cache_size=10)
def test_full_cache_compacts_in_wait_mode(mjit_cc, mjit_start):
    """In wait mode, the unit that fills the cache triggers a compaction of all ten."""
    host, engine = mjit_start()
    iseqs = [define_affine(host, f"m{k}", k) for k in range(10)]
    for iseq in iseqs:
        # In wait mode the call that reaches min_calls returns with the code published.
        call_to_enqueue(host, iseq, host.options.min_calls)
        assert is_compiled(iseq.body.jit_func), iseq.body.jit_func
    wait_compacted(mjit_cc, iseqs, "the ten methods to be compacted")
    for iseq in iseqs:
        assert host.call(iseq, 3) == host.interpret(iseq, 3)


# -- the compacted library's lifetime -----------------------------------------------------------

def compiled_code_problems(host, iseqs) -> list[str]:
    """For every ISeq still marked compiled: its code is mapped, and calling it through the
    call path runs that code and returns the interpreter's results.  Unmapped code is
    reported, never called."""
    problems = []
    for iseq in iseqs:
        func = iseq.body.jit_func
        if not is_compiled(func):
            continue
        if library_at(func.address) is None:
            problems.append(f"{iseq.name}: code of unit {func.unit_id} is no longer mapped")
        elif not all(runs_compiled(host, iseq, x) for x in ARGS):
            problems.append(f"{iseq.name}: compiled code did not return the interpreter's result")
    return problems


@pytest.mark.mjit_clause("UNLOAD-4")
@pytest.mark.mjit_requires("unload")
def test_unload_keeps_the_compacted_code_of_the_others(mjit_cc, mjit_start):
    """Unloading one unit of a compacted library leaves the library mapped: every method
    still compiled runs its code and returns the interpreter's results, before anything is
    compiled or compacted again and after."""
    names = [f"m{i}" for i in range(10)]
    host, engine, ms = queue_then_compile(mjit_cc, mjit_start, names, max_cache_size=10)
    wait_compacted(mjit_cc, ms, "the ten methods to be compacted")
    for i, m in enumerate(ms):
        call_to_enqueue(host, m, host.options.min_calls + i)   # m0 is the least called
    # Hold the next unit's compile: the unload is over once it starts (the worker dequeues
    # nothing while the cache is full), and nothing is rebound to a new library meanwhile.
    hold = mjit_cc.hold(kind="compile")
    extra = define_affine(host, "extra", 1000)
    call_to_enqueue(host, extra, host.options.min_calls)
    hold.wait_reached(COMPILE_WAIT)
    try:
        assert ms[0].body.jit_func == JitState.NOT_COMPILED, "the full cache unloaded nothing"
        problems = compiled_code_problems(host, ms)
    finally:
        hold.release()
    assert not problems, f"after unloading {ms[0].name}: {problems}"
    compiled(host, engine, extra)
    assert not compiled_code_problems(host, ms + [extra])


@pytest.mark.mjit_clause("FINISH-3")
def test_finish_without_close_handle_keeps_compacted_code_mapped(mjit_cc, mjit_start,
                                                                 mjit_observe):
    """finish(close_handle=False) leaves the compacted library mapped too: code bound into it
    may still be running on some stack."""
    mjit_observe.allow("maps")  # the clause itself leaves them mapped
    host, engine, iseqs = queue_then_compile(mjit_cc, mjit_start, ["a", "b", "c"])
    library = wait_compacted(mjit_cc, iseqs, "the three methods to be compacted")
    funcs = [iseq.body.jit_func for iseq in iseqs]
    mapped = mjit_observe.maps(mjit_observe.tmp_dir)
    with deadline(STOP_WAIT, "finish(close_handle=False)"):
        engine.finish(close_handle=False)
    gone = sorted(m.path for m in mapped - mjit_observe.maps(mjit_observe.tmp_dir))
    assert not gone, f"finish(close_handle=False) unmapped {gone} (compacted: {library})"
    for iseq, func in zip(iseqs, funcs, strict=True):
        assert call_jit_func(func, 10) == host.interpret(iseq, 10), iseq.name


@pytest.mark.mjit_clause("OPT-5")
def test_save_temps_keeps_the_compacted_library(mjit_cc, mjit_start, mjit_observe):
    """With save_temps every file the engine made outlives finish: each unit's .c, .o and
    .so, the header and the compacted library."""
    host, engine, iseqs = queue_then_compile(mjit_cc, mjit_start, ["a", "b"], save_temps=True)
    library = wait_compacted(mjit_cc, iseqs, "the two methods to be compacted")
    with deadline(STOP_WAIT, "finish"):
        engine.finish()
    made = {i.output for i in mjit_cc.invocations() if i.ok}
    made |= {source_of(i) for i in invocations_of(mjit_cc, "compile")}
    assert library in made
    missing = sorted(path for path in made if not os.path.exists(path))
    for name in mjit_observe.files():
        os.remove(mjit_observe.tmp_dir / name)
    assert not missing, f"save_temps did not keep {missing}"
