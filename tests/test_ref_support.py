"""Shared helpers of the reference engine's tests: a host with the engine started through the
harness's rig (compiling through the compiler shim, checked for leftovers), small programs
and bounded waits."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

from pytest_mjit import JitState, is_compiled
from pytest_mjit.host import Host, Insn, mapped_regions
from pytest_mjit.testing import CompilerShim, Rig, build_shim, wait_for

import mjit_ref

CC_FAMILIES = {"gcc": shutil.which("gcc"), "clang": shutil.which("clang")}
WAIT = 20.0  # seconds; every wait of these tests is bounded


def families():
    """pytest params over the compilers found on this machine."""
    return [pytest.param(fam, marks=pytest.mark.skipif(path is None, reason=f"no {fam}"))
            for fam, path in CC_FAMILIES.items()]


def ref_shim(tmp_path: Path, family: str) -> CompilerShim:
    """A compiler shim in front of the ``family`` compiler, in a new directory of ``tmp_path``
    (its binary is built once per session, in pytest's base temp dir: ``tmp_path``'s parent)."""
    real = CC_FAMILIES[family]
    binary = build_shim(real, Path(tmp_path).parent / "mjit-shim")
    control = Path(tempfile.mkdtemp(prefix="cc-", dir=tmp_path))
    return CompilerShim(binary, control, real, family)


@contextlib.contextmanager
def started(tmp_path: Path, family: str, *, shim: CompilerShim | None = None,
            allow: tuple[str, ...] = (), **overrides):
    """A host with a started reference engine compiling through ``shim`` (default: a new
    one of ``ref_shim``); the engine's tmp dir is ``tmp_path`` unless ``overrides`` say
    otherwise.  On exit the engine is finished (bounded) and, unless the block raised, the test
    fails naming what the engine left behind (but the kinds in ``allow``; files are allowed
    with ``save_temps``)."""
    rig = Rig(overrides.get("tmp_dir", tmp_path))
    rig.shim = shim or ref_shim(tmp_path, family)
    try:
        host = rig.host(rig.options(**{"min_calls": 2, "wait_timeout": WAIT, **overrides}))
        engine = rig.start(host, mjit_ref.create_engine)
        yield host, engine
    except BaseException:
        rig.release_all()
        try:
            for _host, engine, _options in rig.started:
                finish_bounded(engine)
        finally:
            rig.close()
        raise
    rig.release_all()
    try:
        finish_bounded(engine)
        left = rig.leftovers(WAIT / 10)
    except BaseException:
        rig.close()                 # the host and any compiler still held go all the same
        raise
    allowed = set(allow) | ({"files"} if host.options.save_temps else set())
    rig.close(reap=left.children)
    lines = left.lines(allowed)
    if lines:
        pytest.fail("the reference engine left behind:\n" + "\n".join(lines), pytrace=False)


def finish_bounded(engine, close_handle: bool = True) -> None:
    """engine.finish() on this (main) thread; the watchdog fails the test if it hangs."""
    Rig.finish(engine, WAIT, "engine.finish()", close_handle=close_handle)


def define_sum(host: Host, name: str = "sum", k: int = 1, **kw):
    """sum(n) = k * (0 + 1 + ... + n-1), a loop with locals."""
    code = [
        Insn("push", 0), Insn("store", 0),
        Insn("push", 0), Insn("store", 1),
        Insn("load", 1), Insn("arg", 0), Insn("lt"),
        Insn("branchunless", 19),
        Insn("load", 0), Insn("load", 1), Insn("push", k), Insn("mul"), Insn("add"),
        Insn("store", 0),
        Insn("load", 1), Insn("push", 1), Insn("add"), Insn("store", 1),
        Insn("jump", 4),
        Insn("load", 0), Insn("ret"),
    ]
    return host.define(name, code, argc=1, nlocals=2, **kw)


def define_caller(host: Host, callee, name: str = "caller", **kw):
    """caller(x) = callee(x) + 1, through call cache 0 (it needs the copy job)."""
    code = [Insn("arg", 0), Insn("call", 0, 1), Insn("push", 1), Insn("add"), Insn("ret")]
    return host.define(name, code, argc=1, calls=[callee], **kw)


def settle(host: Host, iseq, what: str = "the unit to be published") -> None:
    """Wait until ``iseq`` leaves NOT_READY, running postponed jobs meanwhile."""
    def done():
        host.check_ints()
        return iseq.body.jit_func != JitState.NOT_READY
    wait_for(done, WAIT, what)


def compiled(host: Host, iseq) -> None:
    """Wait until ``iseq`` is compiled and check it."""
    settle(host, iseq, f"{iseq.name} to be compiled")
    assert is_compiled(iseq.body.jit_func), iseq.body.jit_func


def wait_idle(host: Host, engine) -> None:
    """Wait until the worker has nothing queued and is not compiling."""
    def idle():
        host.check_ints()
        with engine.state.lock:
            busy = engine.state.unit_queue.length or engine.state.in_jit
        return not busy
    wait_for(idle, WAIT, "the worker to go idle")


def engine_files(tmp_path: Path) -> list[str]:
    """Names of files the engine made in ``tmp_path``."""
    return sorted(p.name for p in Path(tmp_path).iterdir() if p.name.startswith("_ruby_mjit_"))


def unit_files(tmp_path: Path, unit_id: int) -> list[str]:
    """The .c/.o/.so of one unit present in ``tmp_path``."""
    return [f for f in engine_files(tmp_path)
            if f.endswith((f"u{unit_id}.c", f"u{unit_id}.o", f"u{unit_id}.so"))]


def cc_log(shim: CompilerShim) -> list[list[str]]:
    """The argv (without argv[0]) of every compiler run through ``shim``, in start order."""
    return [list(i.argv[1:]) for i in shim.invocations()]


def so_mapped(path_part: str) -> bool:
    """True when a mapping of this process has ``path_part`` in its path."""
    return any(path_part in r.path for r in mapped_regions())


def threads_named(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name and t.is_alive()]


__all__ = [n for n in dir() if not n.startswith("_")] + ["os", "Insn", "is_compiled", "JitState"]
