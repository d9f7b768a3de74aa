"""PCH: the precompiled header is built first, every unit compile uses it, a failed build
disables the engine, finish waits for a running build and removes the header only in the
process that built it, and odd characters in the tmp dir's path do no harm."""

import os
import re
import shutil
import time

import pytest

from pytest_mjit import JitState, is_compiled
from pytest_mjit.testing import (COMPILE_WAIT, STEP_WAIT, call_to_enqueue, compiled, define_affine,
                                 wait_for)

from ._support import held_invocation, invocations_of, source_of

pytestmark = pytest.mark.mjit_requires("pch")

GCH = ".gch"


def pch_path(shim) -> str:
    """The header file the (first) PCH build wrote."""
    builds = invocations_of(shim, "pch")
    assert builds, f"no precompiled header build was run:\n{shim.describe()}"
    return builds[0].output


def included_header(c_file: str) -> str | None:
    """The file named by the first line of ``c_file`` when it is an ``#include``, with the
    backslash escapes of a quoted name undone; None otherwise."""
    with open(c_file) as f:
        first = f.readline().strip()
    quoted = re.fullmatch(r'#\s*include\s+"((?:[^"\\]|\\.)*)"', first)
    if quoted:
        return re.sub(r"\\(.)", r"\1", quoted.group(1))
    bracketed = re.fullmatch(r"#\s*include\s+<([^>]*)>", first)
    return bracketed.group(1) if bracketed else None


@pytest.mark.mjit_clause("PCH-1")
def test_pch_is_built_before_any_unit_compiles(mjit_cc, mjit_start):
    """A method queued while the header is being built is compiled only after the build
    ended successfully."""
    build = mjit_cc.hold(kind="pch")
    host, engine = mjit_start()
    build.wait_reached(COMPILE_WAIT)
    m = define_affine(host, "m", 3)
    call_to_enqueue(host, m, host.options.min_calls)
    build.release()
    compiled(host, engine, m)
    runs = mjit_cc.invocations()
    assert runs[0].kind == "pch" and runs[0].ok, mjit_cc.describe()
    first_compile = next(i for i in runs if i.kind == "compile")
    assert runs[0].end <= first_compile.start, mjit_cc.describe()


@pytest.mark.mjit_clause("PCH-2")
def test_every_unit_compile_uses_the_pch(mjit_cc, mjit_start):
    """At each unit compile the header file exists and is used: gcc through an #include of
    its name without .gch on the .c's first line, clang through -include-pch."""
    # A rule counts only the runs no earlier rule took: each of these holds the next compile.
    holds = [mjit_cc.hold(kind="compile", nth=1) for _ in range(2)]
    host, engine = mjit_start()
    methods = [define_affine(host, name, k) for k, name in ((3, "a"), (5, "b"))]
    for m in methods:
        call_to_enqueue(host, m, host.options.min_calls)
    for hold in holds:
        hold.wait_reached(COMPILE_WAIT)
        compile_run = held_invocation(mjit_cc, hold)
        pch = pch_path(mjit_cc)
        assert os.path.isfile(pch), f"{pch} is missing while a unit compiles"
        if mjit_cc.family == "clang":
            argv = list(compile_run.argv)
            assert "-include-pch" in argv, argv
            assert argv[argv.index("-include-pch") + 1] == pch
        else:
            assert pch.endswith(GCH)
            assert included_header(source_of(compile_run)) == pch[:-len(GCH)]
        hold.release()
    for m in methods:
        compiled(host, engine, m)


@pytest.mark.mjit_clause("PCH-3")
def test_failed_pch_disables_the_engine(mjit_cc, mjit_start):
    """A failing header build disables the engine: wait returns at once, the queued method and
    later ones stay interpreted, and no unit is ever generated or compiled."""
    build = mjit_cc.hang(kind="pch")  # exits 1 once released
    host, engine = mjit_start()
    build.wait_reached(COMPILE_WAIT)
    queued = define_affine(host, "queued", 3)
    call_to_enqueue(host, queued, host.options.min_calls)
    build.release()
    start = time.monotonic()
    func = engine.wait(queued)
    waited = time.monotonic() - start
    assert waited < host.options.wait_timeout / 2, f"wait took {waited:.2f}s"
    assert func in (JitState.NOT_READY, JitState.NOT_COMPILED)
    wait_for(lambda: not engine.enabled, STEP_WAIT, "the engine to disable itself")

    later = define_affine(host, "later", 5)
    call_to_enqueue(host, later, host.options.min_calls)
    direct = define_affine(host, "direct", 7)
    engine.add_iseq_to_process(direct)
    for m in (queued, later, direct):
        assert host.call(m, 4) == host.interpret(m, 4)
    engine.finish()
    for m in (queued, later, direct):
        assert not is_compiled(m.body.jit_func), (m.name, m.body.jit_func)
    assert not host.events_of("generate_code:enter")
    assert [i.kind for i in mjit_cc.invocations()] == ["pch"], mjit_cc.describe()


@pytest.mark.mjit_clause("PCH-4")
def test_finish_waits_for_a_running_pch_build(mjit_cc, mjit_start, mjit_observe):
    """finish called while the header compiler runs returns only after that compiler exited
    and was reaped, leaving no engine thread."""
    threads = mjit_observe.threads()
    children = {c.pid for c in mjit_observe.children()}
    build = mjit_cc.hold(kind="pch")
    host, engine = mjit_start()
    build.wait_reached(COMPILE_WAIT)
    m = define_affine(host, "m", 3)
    call_to_enqueue(host, m, host.options.min_calls)
    # Released just before finish: the real compiler still needs far longer than the call.
    build.release()
    engine.finish()
    [run] = invocations_of(mjit_cc, "pch")
    assert not run.running, "finish returned while the header was still being built"
    assert not mjit_cc.running()
    assert {c.pid for c in mjit_observe.children()} <= children
    assert set(mjit_observe.threads()) <= set(threads)


@pytest.mark.mjit_clause("PCH-5")
def test_finish_removes_the_pch(mjit_cc, mjit_start):
    """Without save_temps, finish deletes the header it built."""
    host, engine = mjit_start()
    m = define_affine(host, "m", 3)
    call_to_enqueue(host, m, host.options.min_calls)
    compiled(host, engine, m)
    pch = pch_path(mjit_cc)
    assert os.path.isfile(pch)
    engine.finish()
    assert not os.path.exists(pch)


@pytest.mark.mjit_clause("PCH-5")
@pytest.mark.mjit_requires("fork")
def test_forked_child_leaves_the_parent_pch(mjit_cc, mjit_start):
    """A forked child's finish does not delete the parent's header, which the parent goes on
    compiling with."""
    host, engine = mjit_start()
    before = define_affine(host, "before", 3)
    call_to_enqueue(host, before, host.options.min_calls)
    compiled(host, engine, before)
    pch = pch_path(mjit_cc)
    result = host.fork(lambda child: os.path.isfile(pch))
    assert result.error is None and result.exit_status == 0, result
    assert result.result is True
    assert os.path.isfile(pch), "the child's finish deleted the parent's header"
    after = define_affine(host, "after", 5)
    call_to_enqueue(host, after, host.options.min_calls)
    compiled(host, engine, after)
    assert host.call(after, 6) == host.interpret(after, 6)


@pytest.mark.mjit_clause("PCH-6")
def test_pch_name(mjit_cc, mjit_start, mjit_tmpdir):
    """The header is built as <tmp>/_ruby_mjit_hp<pid>u0.h.gch, whatever the compiler."""
    host, engine = mjit_start()
    m = define_affine(host, "m", 3)
    call_to_enqueue(host, m, host.options.min_calls)
    compiled(host, engine, m)
    assert pch_path(mjit_cc) == f"{mjit_tmpdir}/_ruby_mjit_hp{os.getpid()}u0.h.gch"


@pytest.mark.mjit_clause("PCH-7")
def test_tmp_dir_with_quote_and_backslash(mjit_start, mjit_tmpdir):
    """With a tmp dir whose path holds a double quote and a backslash, methods still compile
    and return the interpreter's results."""
    odd = mjit_tmpdir / 'q"b\\s'
    odd.mkdir(mode=0o700)
    try:
        host, engine = mjit_start(tmp_dir=str(odd))
        methods = [define_affine(host, name, k) for k, name in ((3, "a"), (5, "b"))]
        for m in methods:
            call_to_enqueue(host, m, host.options.min_calls)
        for m in methods:
            compiled(host, engine, m)
            for x in (0, 7, -3):
                assert host.call(m, x) == host.interpret(m, x)
        engine.finish()
        assert not os.listdir(odd)
    finally:
        shutil.rmtree(odd, ignore_errors=True)
