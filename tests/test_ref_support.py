"""Shared helpers of the reference engine's tests: a host with the engine attached and
started, small programs, compiler wrapper scripts and bounded waits."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import threading
from pathlib import Path

import pytest

from pytest_mjit import JitState, Options, is_compiled
from pytest_mjit.host import Host, Insn, mapped_regions
from pytest_mjit.testing import deadline, wait_for

import mjit_ref

CC_FAMILIES = {"gcc": shutil.which("gcc"), "clang": shutil.which("clang")}
WAIT = 20.0  # seconds; every wait of these tests is bounded


def families():
    """pytest params over the compilers found on this machine."""
    return [pytest.param(fam, marks=pytest.mark.skipif(path is None, reason=f"no {fam}"))
            for fam, path in CC_FAMILIES.items()]


@contextlib.contextmanager
def started(tmp_path: Path, family: str, *, cc: str | None = None, **overrides):
    """A host with a started reference engine; finished (bounded) and checked on exit."""
    opts = dict(cc=cc or CC_FAMILIES[family], cc_family=family, tmp_dir=str(tmp_path),
                min_calls=2, wait_timeout=WAIT)
    opts.update(overrides)
    options = Options(**opts)
    host = Host(options)
    engine = mjit_ref.create_engine(host, options)
    host.attach(engine)
    engine.init()
    try:
        yield host, engine
    finally:
        host.release_all()
        finish_bounded(engine)
        host.close()


def finish_bounded(engine, close_handle: bool = True) -> None:
    """engine.finish() on this (main) thread; the watchdog fails the test if it hangs."""
    with deadline(WAIT, "engine.finish()"):
        engine.finish(close_handle=close_handle)


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


def wrapper_cc(tmp_path: Path, family: str, *, log: bool = True, body: str = "") -> str:
    """A shell script used as cc: logs its argv, runs ``body`` (may exit), then the real cc."""
    real = CC_FAMILIES[family]
    script = tmp_path / f"cc-{family}.sh"
    log_file = tmp_path / "cc.log"
    lines = ["#!/bin/sh"]
    if log:
        lines.append(f'echo "$@" >> "{log_file}"')
    if body:
        lines.append(body)
    lines.append(f'exec "{real}" "$@"')
    script.write_text("\n".join(lines) + "\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def cc_log(tmp_path: Path) -> list[list[str]]:
    """argv lines the wrapper logged (without argv[0])."""
    path = tmp_path / "cc.log"
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def so_mapped(path_part: str) -> bool:
    """True when a mapping of this process has ``path_part`` in its path."""
    return any(path_part in r.path for r in mapped_regions())


def threads_named(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name and t.is_alive()]


__all__ = [n for n in dir() if not n.startswith("_")] + ["os", "Insn", "is_compiled", "JitState"]
