"""COMPILE: compiled methods return what the interpreter returns; a unit's files carry the pid
and the unit id, its .c is created exclusively, failures leave nothing behind, compilers are
reaped and quiet, flags follow CRuby's, and the .c/.so go once loaded unless save_temps."""

import os
import re
import stat
from pathlib import Path

import pytest

from pytest_mjit import JitState
from pytest_mjit.testing import (COMPILE_WAIT, STEP_WAIT, call_to_enqueue, compiled, define_affine,
                                 settle, wait_for)
from pytest_mjit.host import Insn, library_at

from ._support import (any_unit_files, held_invocation, invocations_of, release_after, source_of,
                       unit_file_names, unit_path)

SENTINEL = "not the engine's\n"
#: How many unit ids after the last known one a test plants files for.
IDS_AHEAD = 8


def define_sum_to(host, name: str, k: int, **kw):
    """``name(n) = k * (0 + 1 + ... + n-1)``: a loop over locals with a conditional branch."""
    code = [
        Insn("push", 0), Insn("store", 0),          # total = 0
        Insn("push", 0), Insn("store", 1),          # i = 0
        Insn("load", 1), Insn("arg", 0), Insn("lt"), Insn("branchunless", 19),
        Insn("load", 0), Insn("load", 1), Insn("push", k), Insn("mul"), Insn("add"),
        Insn("store", 0),                           # total += i * k
        Insn("load", 1), Insn("push", 1), Insn("add"), Insn("store", 1),
        Insn("jump", 4),
        Insn("load", 0), Insn("ret"),
    ]
    return host.define(name, code, argc=1, nlocals=2, **kw)


def compile_one(host, engine, name: str = "m", k: int = 3):
    """Define a method, call it until it is queued and wait for its code."""
    m = define_affine(host, name, k)
    call_to_enqueue(host, m, host.options.min_calls)
    compiled(host, engine, m)
    return m


def call_to_enqueue_with(host, iseq, args) -> None:
    """Call ``iseq`` with ``args`` through the call path until it is queued."""
    while iseq.body.total_calls < host.options.min_calls:
        host.call(iseq, *args)


def settled_failure(host, engine, iseq) -> None:
    """Queue ``iseq`` through the call path and check that its compilation failed."""
    call_to_enqueue(host, iseq, host.options.min_calls)
    func = settle(host, engine, iseq)
    assert func == JitState.NOT_COMPILED, f"{iseq.name}: jit_func={func!r}"


def next_unit_fails_untouched(shim, host, engine, planted, untouched) -> None:
    """With ``planted`` entries at the names the next unit's .c may take, queue a method and
    check that it fails without a compile and that ``untouched()`` still holds; then remove
    the planted entries.  One unit was compiled before."""
    try:
        victim = define_affine(host, "victim", 5)
        settled_failure(host, engine, victim)
        assert untouched(), "a file planted at a unit's .c name was opened"
        assert len(invocations_of(shim, "compile")) == 1, shim.describe()
    finally:
        for path in planted:
            os.remove(path)


def leftover_sources_and_libraries(tmp_dir) -> list[str]:
    """Unit .c and .so files in ``tmp_dir``."""
    return [n for n in any_unit_files(tmp_dir) if n.endswith((".c", ".so"))]


@pytest.mark.mjit_clause("COMPILE-1")
def test_compiled_methods_return_interpreter_results(mjit_host, mjit_engine):
    """Three methods compiled one after the other (arithmetic, and a loop with a branch)
    return, through their compiled code, what the interpreter returns."""
    host, engine = mjit_host, mjit_engine
    # f(a, b) = (a + b) * (a - b), wrapping on 64 bits
    f = host.define("f", [Insn("arg", 0), Insn("arg", 1), Insn("add"), Insn("arg", 0),
                          Insn("arg", 1), Insn("sub"), Insn("mul"), Insn("ret")], argc=2)
    g = define_sum_to(host, "g", 3)
    h = define_affine(host, "h", 7)
    cases = {f: [(7, 3), (0, 0), (-5, 12), (2**62, 3), (-(2**63), 1)],
             g: [(0,), (1,), (10,), (100,)],
             h: [(0,), (-1,), (2**40,), (-(2**63),)]}
    for m, args in cases.items():
        call_to_enqueue_with(host, m, args[0])
        compiled(host, engine, m)
    jit_calls = len(host.events_of("jit_call"))
    for m, args in cases.items():
        for a in args:
            assert host.call(m, *a) == host.interpret(m, *a), (m.name, a)
    assert len(host.events_of("jit_call")) - jit_calls == sum(map(len, cases.values()))


@pytest.mark.mjit_clause("COMPILE-2")
def test_unit_files_are_named_by_pid_and_unit_id(mjit_cc, mjit_host, mjit_engine, mjit_tmpdir):
    """The unit's compile reads <tmp>/_ruby_mjit_p<pid>u<id>.c and writes the .o of that
    name, its link writes the .so of that name, and the code runs from that .so."""
    host, engine = mjit_host, mjit_engine
    m = compile_one(host, engine)
    unit_id, pid = m.body.jit_func.unit_id, os.getpid()
    c_file, o_file, so_file = (unit_path(mjit_tmpdir, pid, unit_id, s) for s in (".c", ".o", ".so"))
    [compile_run] = invocations_of(mjit_cc, "compile")
    assert source_of(compile_run) == c_file and compile_run.output == o_file
    [link_run] = invocations_of(mjit_cc, "link")
    assert link_run.output == so_file and o_file in link_run.argv
    assert library_at(m.body.jit_func.address) == so_file


@pytest.mark.mjit_clause("COMPILE-3")
def test_c_file_is_private_and_never_reused(mjit_cc, mjit_start, mjit_tmpdir):
    """The .c is created with mode 0600; a regular file already at the name a unit would take
    is neither opened nor changed, and that unit fails (NOT_COMPILED) without a compile."""
    hold = mjit_cc.hold(kind="compile", nth=1)
    host, engine = mjit_start()
    first = define_affine(host, "first", 3)
    call_to_enqueue(host, first, host.options.min_calls)
    hold.wait_reached(COMPILE_WAIT)
    c_file = source_of(held_invocation(mjit_cc, hold))
    assert stat.S_IMODE(os.stat(c_file).st_mode) == 0o600
    hold.release()
    compiled(host, engine, first)
    # Units get growing ids (QUEUE-4): the next one takes one of these names.
    planted = [unit_path(mjit_tmpdir, os.getpid(), first.body.jit_func.unit_id + n, ".c")
               for n in range(1, IDS_AHEAD + 1)]
    for path in planted:
        with open(path, "x") as f:
            f.write(SENTINEL)
    next_unit_fails_untouched(mjit_cc, host, engine, planted,
                              lambda: [Path(p).read_text() for p in planted]
                              == [SENTINEL] * IDS_AHEAD)


@pytest.mark.mjit_clause("COMPILE-3")
def test_symlink_at_c_file_name_is_not_followed(mjit_cc, mjit_start, mjit_tmpdir):
    """A symlink at the name a unit's .c would take is not followed: its target stays as it
    was and the unit fails (NOT_COMPILED) without a compile."""
    host, engine = mjit_start()
    first = compile_one(host, engine, "first")
    target = mjit_tmpdir.parent / "symlink-target"
    target.write_text(SENTINEL)
    links = [unit_path(mjit_tmpdir, os.getpid(), first.body.jit_func.unit_id + n, ".c")
             for n in range(1, IDS_AHEAD + 1)]
    for link in links:
        os.symlink(target, link)
    next_unit_fails_untouched(
        mjit_cc, host, engine, links,
        lambda: target.read_text() == SENTINEL and all(map(os.path.islink, links)))


@pytest.mark.mjit_clause("COMPILE-4")
def test_failed_compile_or_link_leaves_nothing(mjit_cc, mjit_start, mjit_tmpdir):
    """A compile or link that exits non-zero or dies by a signal makes the method
    NOT_COMPILED and leaves no .c or .so; the next method compiles normally."""
    host, engine = mjit_start()
    faults = [("compile", mjit_cc.fail), ("compile", mjit_cc.crash),
              ("link", mjit_cc.fail), ("link", mjit_cc.crash)]
    for n, (kind, inject) in enumerate(faults):
        inject(kind=kind)
        m = define_affine(host, f"m{n}", n + 2)
        settled_failure(host, engine, m)
        assert not leftover_sources_and_libraries(mjit_tmpdir), (kind, inject.__name__)
        assert host.call(m, 5) == host.interpret(m, 5)
        mjit_cc.clear_rules()
    last = invocations_of(mjit_cc, "link")[-1]
    assert last.signal is not None, mjit_cc.describe()
    healthy = compile_one(host, engine, "healthy", 11)
    assert host.call(healthy, 5) == host.interpret(healthy, 5)


@pytest.mark.mjit_clause("COMPILE-5")
def test_compilers_are_reaped_and_none_outlives_finish(mjit_cc, mjit_start, mjit_observe):
    """After a unit is compiled no compiler child is left (not even a zombie), and finish
    during a compile returns only after that compiler was reaped."""
    children = {c.pid for c in mjit_observe.children()}

    def new_children():
        return sorted(f"{c.pid} [{c.state}]" for c in mjit_observe.children()
                      if c.pid not in children)

    host, engine = mjit_start()
    compile_one(host, engine)
    wait_for(lambda: not new_children(), STEP_WAIT, "the compiler processes to be reaped",
             extra=lambda: f"children: {new_children()}")

    hold = mjit_cc.hold(kind="compile")
    m = define_affine(host, "in_compiler", 5)
    call_to_enqueue(host, m, host.options.min_calls)
    hold.wait_reached(COMPILE_WAIT)
    # Let the compiler go once finish runs its stop loop (STOP-5: it checks interrupts).
    helper = release_after(host, "check_ints", len(host.events), hold)
    engine.finish()
    helper.join()
    assert not new_children(), f"compilers outlived finish: {new_children()}"
    assert not mjit_cc.running()


@pytest.mark.mjit_clause("COMPILE-6")
@pytest.mark.parametrize("verbose", [0, 1])
def test_compiler_output_is_discarded_unless_verbose(verbose, mjit_cc, mjit_start, capfd):
    """A compiler error message reaches this process's stdout/stderr only with verbose."""
    marker = "mjit-conformance-compiler-message"
    hold = mjit_cc.hold(kind="compile")
    host, engine = mjit_start(verbose=verbose)
    m = define_affine(host, "m", 3)
    call_to_enqueue(host, m, host.options.min_calls)
    hold.wait_reached(COMPILE_WAIT)
    with open(source_of(held_invocation(mjit_cc, hold)), "a") as f:
        f.write(f"\n#error {marker}\n")
    hold.release()
    assert settle(host, engine, m) == JitState.NOT_COMPILED
    out, err = capfd.readouterr()
    assert (marker in out + err) == bool(verbose), (out, err)


def optimises(argv) -> bool:
    """True when ``argv`` asks for optimisation (an -O flag other than -O0)."""
    return any(re.fullmatch(r"-O(?!0$).*", a) for a in argv)


def debugs(argv) -> bool:
    """True when ``argv`` asks for debug information (a -g flag)."""
    return any(a.startswith("-g") for a in argv)


@pytest.mark.mjit_clause("COMPILE-7")
@pytest.mark.mjit_options(debug_flags=("-DMJIT_CONFORMANCE_FLAG=1",))
def test_compiler_flags_follow_cruby(mjit_cc, mjit_host, mjit_engine):
    """The header build and every unit compile optimise and get the added debug flags; with
    gcc, compiles and links get CRuby's PIC/shared/no-warning/pipe flags, compiles
    -nodefaultlibs -nostdlib, links -nostartfiles and -lgcc."""
    host, engine = mjit_host, mjit_engine
    for name, k in (("a", 3), ("b", 5)):
        compile_one(host, engine, name, k)
    builds = invocations_of(mjit_cc, "pch") + invocations_of(mjit_cc, "compile")
    links = invocations_of(mjit_cc, "link")
    assert len(builds) >= 3 and links, mjit_cc.describe()
    for run in builds:
        assert "-DMJIT_CONFORMANCE_FLAG=1" in run.argv, run.argv
        assert optimises(run.argv) and not debugs(run.argv), run.argv
    if mjit_cc.family != "gcc":
        return
    common = {"-fPIC", "-shared", "-w", "-pipe", "-Wfatal-errors"}
    for run in invocations_of(mjit_cc, "compile"):
        assert common | {"-nodefaultlibs", "-nostdlib"} <= set(run.argv), run.argv
    for run in links:
        assert common | {"-nostartfiles", "-lgcc"} <= set(run.argv), run.argv


@pytest.mark.mjit_clause("COMPILE-7")
@pytest.mark.mjit_options(debug=True, debug_flags=("-DMJIT_CONFORMANCE_FLAG=1",))
def test_debug_replaces_optimisation_flags(mjit_cc, mjit_host, mjit_engine):
    """With debug, the header build and unit compiles carry debug flags and no optimisation
    flag, and still get the added debug flags."""
    host, engine = mjit_host, mjit_engine
    compile_one(host, engine)
    builds = invocations_of(mjit_cc, "pch") + invocations_of(mjit_cc, "compile")
    assert len(builds) == 2, mjit_cc.describe()
    for run in builds:
        assert "-DMJIT_CONFORMANCE_FLAG=1" in run.argv, run.argv
        assert debugs(run.argv) and not optimises(run.argv), run.argv


@pytest.mark.mjit_clause("COMPILE-8")
def test_c_and_so_are_removed_once_loaded(mjit_host, mjit_engine, mjit_tmpdir, mjit_observe):
    """By the time a method's code is published its .c and .so are gone, the .so being
    mapped only as a deleted file."""
    host, engine = mjit_host, mjit_engine
    m = compile_one(host, engine)
    unit_id = m.body.jit_func.unit_id
    assert [n for n in unit_file_names(mjit_tmpdir, unit_id) if not n.endswith(".o")] == []
    so_file = unit_path(mjit_tmpdir, os.getpid(), unit_id, ".so")
    [mapping] = [mp for mp in mjit_observe.maps(mjit_tmpdir) if mp.path == so_file]
    assert mapping.deleted


@pytest.mark.mjit_clause("COMPILE-8")
@pytest.mark.mjit_options(save_temps=True)
def test_save_temps_keeps_c_and_so(mjit_host, mjit_engine, mjit_tmpdir, mjit_observe):
    """With save_temps the unit's .c, .o and .so stay after its code is loaded."""
    host, engine = mjit_host, mjit_engine
    m = compile_one(host, engine)
    unit_id, pid = m.body.jit_func.unit_id, os.getpid()
    assert unit_file_names(mjit_tmpdir, unit_id) == sorted(
        os.path.basename(unit_path(mjit_tmpdir, pid, unit_id, s)) for s in (".c", ".o", ".so"))
    so_file = unit_path(mjit_tmpdir, pid, unit_id, ".so")
    [mapping] = [mp for mp in mjit_observe.maps(mjit_tmpdir) if mp.path == so_file]
    assert not mapping.deleted
