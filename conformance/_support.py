"""Helpers shared by the conformance tests: small programs, compiling a method through the
call path, and looking at compiled code from outside the engine (mappings, files, argv)."""

from __future__ import annotations

import contextlib
import ctypes
import re
from pathlib import Path

import pytest

from pytest_mjit import JitState, is_compiled
from pytest_mjit.host import Insn, library_at, mapped_regions
from pytest_mjit.testing import (COMPILE_WAIT, STEP_WAIT, DeadlineExceeded, Helper,
                                 call_to_enqueue, define_affine, python_threads, wait_for)

_JIT_FUNC_TYPE = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.POINTER(ctypes.c_int64))


def libraries_of(iseqs) -> list[str | None]:
    """``library_at`` of each ISeq's compiled code (None for an ISeq without code)."""
    funcs = [iseq.body.jit_func for iseq in iseqs]
    return [library_at(f.address) if is_compiled(f) else None for f in funcs]


def call_jit_func(func, *args: int) -> int:
    """Call compiled code directly, after checking that its address is still mapped
    executable (so an unloaded function fails the test instead of crashing it)."""
    if library_at(func.address) is None:
        pytest.fail(f"code of unit {func.unit_id} at 0x{func.address:x} is no longer mapped")
    argv = (ctypes.c_int64 * max(1, len(args)))(*args)
    return int(_JIT_FUNC_TYPE(func.address)(argv))


def object_inputs(invocation) -> list[str]:
    """The ``.o`` files a compiler invocation reads."""
    return [a for a in invocation.argv[1:] if a.endswith(".o") and a != invocation.output]


def compaction_links(shim) -> list:
    """Link invocations that combine several ``.o`` files into one library (compactions)."""
    return [i for i in shim.invocations() if i.kind == "link" and len(object_inputs(i)) > 1]


def wait_compacted(mjit_cc, iseqs, what: str) -> str:
    """Wait until every ISeq's code lies in the output of one compaction link; return it."""
    def rebound() -> bool:
        libs = set(libraries_of(iseqs))
        outputs = {link.output for link in compaction_links(mjit_cc) if link.ok}
        return len(libs) == 1 and libs <= outputs
    wait_for(rebound, COMPILE_WAIT, what,
             extra=lambda: f"libraries: {libraries_of(iseqs)}\n{mjit_cc.describe()}")
    return libraries_of(iseqs)[0]


def unit_file_names(tmp_dir: str | Path, unit_id: int) -> list[str]:
    """Names of unit ``unit_id``'s ``.c``/``.o``/``.so`` files in ``tmp_dir`` (COMPILE-2)."""
    pattern = re.compile(rf"_ruby_mjit_p\d+u{unit_id}\.(c|o|so)")
    return sorted(n.name for n in Path(tmp_dir).iterdir() if pattern.fullmatch(n.name))


def unit_library_mapped(tmp_dir: str | Path, unit_id: int) -> bool:
    """True while unit ``unit_id``'s own ``.so`` (deleted or not) is mapped in this process."""
    pattern = re.compile(rf"_ruby_mjit_p\d+u{unit_id}\.so")
    prefix = str(Path(tmp_dir)) + "/"
    return any(r.file.startswith(prefix) and pattern.fullmatch(r.file[len(prefix):])
               for r in mapped_regions())


# -- programs that need the copy job, bounded client calls and helper threads ----------------

def define_caller(host, callee, name: str = "caller", **kw):
    """``name(x) = callee(x) + 1`` through call cache 0: compiling it needs the caches copied
    on the main thread (the copy job)."""
    code = [Insn("arg", 0), Insn("call", 0, 1), Insn("push", 1), Insn("add"), Insn("ret")]
    return host.define(name, code, argc=1, calls=[callee], **kw)


def define_const_reader(host, const: str, name: str = "reader", **kw):
    """``name(x) = const + x`` through inline-storage entry 0 (needs the copy job)."""
    code = [Insn("getconst", 0), Insn("arg", 0), Insn("add"), Insn("ret")]
    return host.define(name, code, argc=1, consts=[const], **kw)


def settle_without_jobs(iseq, timeout: float = STEP_WAIT):
    """Wait until ``iseq`` leaves NOT_READY without running postponed jobs; return its
    ``jit_func``."""
    wait_for(lambda: iseq.body.jit_func != JitState.NOT_READY, timeout,
             f"{iseq.name} to leave NOT_READY", extra=lambda: f"jit_func={iseq.body.jit_func!r}")
    return iseq.body.jit_func


def runs_compiled(host, iseq, *args: int) -> bool:
    """Call ``iseq`` through the call path; True when its compiled code ran and returned
    what the interpreter returns."""
    before = len(host.events_of("jit_call"))
    result = host.call(iseq, *args)
    return (len(host.events_of("jit_call")) == before + 1
            and result == host.interpret(iseq, *args))


def any_unit_files(tmp_dir: str | Path) -> list[str]:
    """Names of every unit's ``.c``/``.o``/``.so`` in ``tmp_dir`` (COMPILE-2 names)."""
    pattern = re.compile(r"_ruby_mjit_p\d+u\d+\.(c|o|so)")
    try:
        return sorted(p.name for p in Path(tmp_dir).iterdir() if pattern.fullmatch(p.name))
    except OSError:
        return []


def event_index(events, kind: str, iseq=None, start: int = 0) -> int | None:
    """Position in ``events`` of the first event of ``kind`` (for ``iseq``) from ``start``."""
    for i in range(start, len(events)):
        if events[i].kind == kind and (iseq is None or events[i].iseq == iseq.id):
            return i
    return None


def release_on_event(host, kind: str, opener, timeout: float = STEP_WAIT) -> Helper:
    """A helper that calls ``opener.release()`` (a gate or a shim hold) once the host has
    logged an event of ``kind``."""
    def run() -> None:
        wait_for(lambda: host.events_of(kind), timeout, f"a {kind!r} event")
        opener.release()
    return Helper(run, name=f"release-on-{kind}")


# -- what an engine runs, and reacting to the main thread's stop loop --------------------------

#: Seconds (before scaling) a client call that stops the worker (pause, finish, fork) may take.
STOP_WAIT = 12.0


def new_threads(before: dict, *helpers: Helper) -> dict:
    """Threads alive now that were not in ``before`` (a ``python_threads()`` snapshot), the
    given helpers excluded: the engine's threads when ``before`` was taken just before the
    engine started."""
    skip = {h.thread.ident for h in helpers}
    return {i: n for i, n in python_threads().items() if i not in before and i not in skip}


#: Seconds (before scaling) a stopped engine thread may take to leave its start routine.
EXIT_WAIT = 3.0


def threads_left(before: dict, *helpers: Helper, expect: int = 0,
                 timeout: float = EXIT_WAIT) -> dict:
    """``new_threads(before, *helpers)`` once at most ``expect`` of them are alive, or as they
    are when ``timeout`` expires.  A worker told to stop may still be
    leaving its start routine when the client call returns (CRuby's worker sets
    ``worker_stopped`` as its last store, STOP-1); it must then end on its own, without the
    main thread doing anything."""
    with contextlib.suppress(DeadlineExceeded):   # the caller asserts on what is left
        wait_for(lambda: len(new_threads(before, *helpers)) <= expect, timeout,
                 "engine threads to end")
    return new_threads(before, *helpers)


def release_after(host, kind: str, since: int, opener, timeout: float = STEP_WAIT) -> Helper:
    """A helper that calls ``opener.release()`` once the host logs an event of ``kind`` after
    its first ``since`` events (e.g. ``check_ints``: the main thread runs the engine's stop
    loop, STOP-5).  It releases on expiry too, so the main thread is never left blocked, and
    then ``join()`` raises."""
    def run() -> None:
        try:
            wait_for(lambda: any(e.kind == kind for e in host.events[since:]), timeout,
                     f"a {kind!r} event after event #{since}")
        finally:
            opener.release()
    return Helper(run, name=f"release-after-{kind}")


# -- compiler runs, unit ids and symbols, seen from outside the engine -------------------------

_UNIT_FILE = re.compile(r"_ruby_mjit_p(\d+)u(\d+)\.(c|o|so)")


def invocations_of(shim, kind: str) -> list:
    """The shim's invocations of one kind ("pch", "compile" or "link"), in start order."""
    return [i for i in shim.invocations() if i.kind == kind]


def held_invocation(shim, hold):
    """The invocation a shim hold (or hang) stopped, once ``hold.wait_reached()`` returned."""
    pid = hold.pid
    for invocation in shim.invocations():
        if invocation.pid == pid:
            return invocation
    raise AssertionError(f"no logged compiler invocation has pid {pid}:\n{shim.describe()}")


def source_of(invocation) -> str:
    """The ``.c`` file a compile invocation reads."""
    sources = [a for a in invocation.argv[1:] if a.endswith(".c")]
    assert len(sources) == 1, f"expected one .c in {invocation.argv}"
    return sources[0]


def unit_id_of(path: str) -> int:
    """The unit id in a ``<tmp>/_ruby_mjit_p<pid>u<id>.{c,o,so}`` path (COMPILE-2)."""
    match = _UNIT_FILE.fullmatch(Path(path).name)
    assert match is not None, f"{path!r} is not named _ruby_mjit_p<pid>u<id>.c/.o/.so"
    return int(match.group(2))


def unit_path(tmp_dir: str | Path, pid: int, unit_id: int, suffix: str) -> str:
    """``<tmp>/_ruby_mjit_p<pid>u<id><suffix>``, the name COMPILE-2 gives a unit's file."""
    return f"{tmp_dir}/_ruby_mjit_p{pid}u{unit_id}{suffix}"


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def _load_dladdr():
    for name in (None, "libdl.so.2"):
        try:
            fn = ctypes.CDLL(name).dladdr
        except (OSError, AttributeError):
            continue
        fn.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
        fn.restype = ctypes.c_int
        return fn
    raise OSError("no dladdr in this process")


_dladdr = _load_dladdr()


def symbol_at(address: int) -> str | None:
    """Name of the dynamic symbol that starts at ``address`` (``dladdr``), or None."""
    info = _DlInfo()
    if not _dladdr(address, ctypes.byref(info)) or not info.dli_sname:
        return None
    if info.dli_saddr != address:
        return None
    return info.dli_sname.decode()


@contextlib.contextmanager
def frames_on_stack(host, iseqs):
    """Hold a frame of every ISeq in ``iseqs`` on the stack for the ``with`` block, so none
    of their code may be unloaded (UNLOAD-2)."""
    with contextlib.ExitStack() as frames:
        for iseq in iseqs:
            frames.enter_context(host.frame(iseq))
        yield


def pass_to_next_unit(host, release, name: str = "following", k: int = 5,
                      timeout: float = COMPILE_WAIT):
    """Call ``release()`` (letting the worker finish what it is held in), then queue a new
    method and wait until its code generation starts.  The worker handles one unit at a
    time, so on return everything it did for the earlier unit is over.  Returns the method
    and its gate, which the caller releases."""
    following = define_affine(host, name, k)
    barrier = host.gate("generate_code:enter", iseq=following)
    release()
    call_to_enqueue(host, following, host.options.min_calls)
    barrier.wait_reached(timeout)
    return following, barrier
