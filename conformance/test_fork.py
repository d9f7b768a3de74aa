"""FORK: the host's fork sequence (pause without waiting, fork, resume in the parent,
child_after_fork in the child) leaves two working engines that never touch each other's
files."""

import os

import pytest

from pytest_mjit import is_compiled
from pytest_mjit.host import library_at
from pytest_mjit.testing import (STEP_WAIT, call_to_enqueue, compile_methods, compiled,
                                 define_affine, python_threads, wait_for)

from ._support import (STOP_WAIT, compaction_links, release_after, threads_left, runs_compiled,
                       wait_compacted)

pytestmark = pytest.mark.mjit_requires("fork")



def fork(host, child_fn):
    """``host.fork(child_fn)`` with the suite's deadline; the child's result, checked."""
    res = host.fork(child_fn, timeout=STOP_WAIT)
    assert res.error is None, f"the child failed:\n{res.error}"
    assert res.exit_status == 0, f"the child exited with status {res.exit_status}"
    return res


def compile_in_child(h):
    """In a forked child: compile a new method there; True when its code runs."""
    m, = compile_methods(h, h.engine, 40, prefix="child")
    return runs_compiled(h, m, 6)


@pytest.mark.mjit_clause("FORK-1")
def test_parent_and_child_each_have_one_working_worker(mjit_start):
    """After the fork sequence the child runs exactly one engine thread and compiles, and so
    does the parent."""
    before = python_threads()
    host, engine = mjit_start()
    compile_methods(host, engine, 1)

    def child(h):
        # Only the forking thread survives fork: every other thread is the engine's.
        threads = len(os.listdir("/proc/self/task")) - 1
        return threads, compile_in_child(h)

    threads, works = fork(host, child).result
    assert threads == 1, f"the child runs {threads} engine threads, not one"
    assert works, "the child's engine did not compile a new method"
    parent_threads = threads_left(before, expect=1)
    assert len(parent_threads) == 1, \
        f"the parent runs engine threads {parent_threads}, not exactly one"
    m, = compile_methods(host, engine, 2, prefix="after")
    assert runs_compiled(host, m, 3)


@pytest.mark.mjit_clause("FORK-2")
def test_child_keeps_the_parents_object_files(mjit_start, mjit_cc, mjit_observe):
    """The parent's .o files survive a child that compiled and finished, and the parent can
    still link them (compaction) afterwards."""
    host, engine = mjit_start()
    methods = compile_methods(host, engine, 1, 2)
    objects = {f for f in mjit_observe.files() if f.endswith(".o")}
    if "compaction" in engine.capabilities:
        assert objects, "no .o kept for compaction in the parent"

    child = fork(host, compile_in_child)
    assert child.result, "the child's engine did not compile a new method"
    missing = objects - mjit_observe.files()
    assert not missing, f"the child deleted the parent's object files: {sorted(missing)}"

    seen = {i.pid for i in compaction_links(mjit_cc)}
    methods += compile_methods(host, engine, 3, prefix="after")
    if "compaction" in engine.capabilities:
        def parent_links():
            return [i for i in compaction_links(mjit_cc)
                    if i.pid not in seen and i.ppid == os.getpid() and not i.running]
        wait_for(parent_links, STEP_WAIT, "a compaction in the parent after the fork",
                 extra=mjit_cc.describe)
        assert all(i.ok for i in parent_links()), "the parent could not compact after the fork"
    for m in methods:
        assert runs_compiled(host, m, 5)


@pytest.mark.mjit_clause("FORK-2")
@pytest.mark.mjit_requires("recompile")
def test_no_path_of_the_child_deletes_the_parents_files(mjit_start, mjit_observe):
    """Whatever the child does with units compiled before the fork (recompile one, free the
    ISeq of one the parent replaced, compile and compact, finish), every .o and header the
    parent made stays, those of units the parent had replaced by a recompile included."""
    host, engine = mjit_start()
    a, b, c = compile_methods(host, engine, 1, 2, 3)
    engine.recompile(a)
    compiled(host, engine, a)   # a's first unit is the parent's replaced (stale) unit now
    tmp = mjit_observe.tmp_dir
    parents = {f for f in mjit_observe.files() if f.endswith((".o", ".gch"))}
    assert parents, "the parent keeps no .o and no header to protect"

    def child(h):
        missing = {}

        def check(step: str) -> None:
            reported = {f for files in missing.values() for f in files}
            gone = sorted(parents - set(os.listdir(tmp)) - reported)
            if gone:
                missing[step] = gone
        h.engine.recompile(b)
        compiled(h, h.engine, b)
        check("recompile of a method compiled in the parent")
        compile_methods(h, h.engine, 4, 5, prefix="child")
        check("compiling (and compacting) in the child")
        h.unroot(a)
        h.gc()
        check("GC of the method the parent had recompiled")
        h.engine.finish()
        check("finish")
        return missing

    missing = fork(host, child).result
    assert not missing, f"the child deleted the parent's files: {missing}"
    gone = sorted(parents - mjit_observe.files())
    assert not gone, f"the parent's files are gone after the child exited: {gone}"
    for m in (a, b, c):
        assert runs_compiled(host, m, 7)


@pytest.mark.mjit_clause("FORK-3")
@pytest.mark.mjit_requires("pch")
def test_child_keeps_the_parents_header(mjit_start, mjit_cc):
    """A child that finished leaves the parent's precompiled header in place, and the parent
    still compiles with it."""
    host, engine = mjit_start()
    compile_methods(host, engine, 1)
    headers = [i.output for i in mjit_cc.invocations() if i.kind == "pch" and i.ok]
    assert headers and all(os.path.exists(h) for h in headers)

    fork(host, lambda h: None)
    gone = [h for h in headers if not os.path.exists(h)]
    assert not gone, f"the child removed the parent's precompiled header: {gone}"
    m, = compile_methods(host, engine, 2, prefix="after")
    assert runs_compiled(host, m, 4)


@pytest.mark.mjit_clause("FORK-4")
def test_child_units_carry_its_pid_and_are_cleaned_up(mjit_start, mjit_cc, mjit_observe):
    """Files of units compiled in the child are named with the child's pid, and the child
    removes them."""
    host, engine = mjit_start()
    compile_methods(host, engine, 1)

    def child(h):
        works = compile_in_child(h)
        return works, sorted(f for f in os.listdir(h.options.tmp_dir) if f"p{os.getpid()}u" in f)

    res = fork(host, child)
    works, child_files = res.result
    assert works, "the child's engine did not compile a new method"
    marker = f"_ruby_mjit_p{res.child_pid}u"
    runs = [i for i in mjit_cc.invocations() if i.ppid == res.child_pid and i.kind != "pch"]
    assert runs, "the child ran no compiler"
    for inv in runs:
        assert marker in os.path.basename(inv.output), \
            f"the child wrote {inv.output}, not named with its pid {res.child_pid}"
    assert child_files, "no file of the child's units existed while it ran"
    left = sorted(f for f in mjit_observe.files() if marker in f)
    assert not left, f"the child left its files behind: {left}"


@pytest.mark.mjit_clause("FORK-5")
def test_fork_during_a_compile_completes(mjit_start, mjit_cc):
    """A fork while a compiler runs completes, and the parent's unit is compiled after
    resume."""
    host, engine = mjit_start()
    hold = mjit_cc.hold("compile", nth=1)
    m = define_affine(host, "m", 3)
    call_to_enqueue(host, m, host.options.min_calls)
    hold.wait_reached()
    # The fork sequence starts with pause(wait=False), which waits for the held compiler.
    helper = release_after(host, "check_ints", len(host.events), hold)
    fork(host, lambda h: None)
    helper.join()
    compiled(host, engine, m, STEP_WAIT)
    assert runs_compiled(host, m, 8)


@pytest.mark.mjit_clause("FORK-6")
def test_code_compiled_before_the_fork_runs_in_the_child(mjit_start):
    """Code compiled before the fork is called (not interpreted) in the child."""
    host, engine = mjit_start()
    methods = compile_methods(host, engine, 1, 2)

    def child(h):
        return [is_compiled(m.body.jit_func) and runs_compiled(h, m, 9) for m in methods]

    assert fork(host, child).result == [True, True]


@pytest.mark.mjit_clause("FORK-6")
@pytest.mark.mjit_requires("compaction")
def test_compacted_code_runs_in_the_child(mjit_start, mjit_cc):
    """Code the parent compacted before the fork is mapped in the child and runs there."""
    host, engine = mjit_start()
    methods = compile_methods(host, engine, 1, 2, 3)
    wait_compacted(mjit_cc, methods, "the three methods to be compacted")

    def child(h):
        return [(m.name, is_compiled(m.body.jit_func)
                 and library_at(m.body.jit_func.address) is not None
                 and runs_compiled(h, m, 9)) for m in methods]

    result = fork(host, child).result
    assert all(ok for _, ok in result), f"compacted code that failed in the child: {result}"
