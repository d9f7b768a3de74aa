"""What tests of an engine use besides the fixtures: bounded waits and nestable deadlines,
helper threads, GC windows, compiling a batch of methods, snapshots of the threads,
processes, files and mappings of this process, and the rig the fixtures start engines with.
The conformance suite is written with these; an engine's own tests may use them too
(docs/testing.md).

Every wait here is bounded and scaled by the preset (``scale``); on expiry it raises
``DeadlineExceeded`` carrying every thread's stack."""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Iterator

from .contract import JitState, is_compiled
from ._deadline import (DeadlineExceeded, active_deadlines, all_stacks, deadline, scale,
                        set_scale, wait_event, wait_for)
from ._observe import (Child, Diff, DirWatch, Mapping, Observer, Snapshot, child_processes,
                       list_files, mapped_libraries, python_threads)
from ._report import blame
from ._rig import Leftovers, Rig
from ._shim import CompilerShim, build_shim
from .host import Insn

__all__ = [
    # waiting
    "DeadlineExceeded", "deadline", "active_deadlines", "wait_for", "wait_event", "scale",
    "all_stacks", "set_scale", "Helper",
    # the host
    "gc_open", "define_affine", "call_to_enqueue", "settle", "compiled", "compile_methods",
    # looking from outside the engine
    "python_threads", "child_processes", "mapped_libraries", "list_files", "DirWatch",
    "Observer", "Snapshot", "Diff", "Mapping", "Child",
    # starting engines and checking what they leave (what the fixtures are built on)
    "Rig", "Leftovers",
    # the compiler shim (what the ``mjit_cc`` fixture gives)
    "CompilerShim", "build_shim",
    # reporting
    "blame",
    "COMPILE_WAIT", "STEP_WAIT",
]

#: Seconds (before the preset's scaling) a test waits for one method to be compiled.
COMPILE_WAIT = 15.0
#: Seconds (before the preset's scaling) a test waits for one thing to happen.
STEP_WAIT = 10.0


class Helper:
    """A helper thread running ``fn()``; ``join()`` waits for it (bounded) and re-raises what
    it raised.  Helpers never call the client API: they wait for something observable and
    then open a gate or a shim hold."""

    def __init__(self, fn: Callable[[], Any], name: str = "conformance-helper") -> None:
        self._fn = fn
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self._fn()
        except BaseException as exc:  # handed over by join()
            self._error = exc

    def join(self, timeout: float = STEP_WAIT) -> None:
        self.thread.join(scale(timeout))
        if self.thread.is_alive():
            raise DeadlineExceeded(f"helper thread {self.thread.name} still runs after "
                                   f"{scale(timeout):.1f}s\nthread stacks:\n{all_stacks()}")
        if self._error is not None:
            raise self._error


@contextlib.contextmanager
def gc_open(host: Any) -> Iterator[None]:
    """``host.gc_begin()`` on entry; ``host.gc_end()`` on exit if the host is still in GC,
    so that a failing check inside a GC never leaves the worker waiting for its end."""
    host.gc_begin()
    try:
        yield
    finally:
        if host.in_gc:
            host.gc_end()


def define_affine(host: Any, name: str, k: int, **kw: Any) -> Any:
    """``name(x) = x * k + k``: one argument, no call caches, a distinct result per ``k``."""
    code = [Insn("arg", 0), Insn("push", k), Insn("mul"), Insn("push", k), Insn("add"),
            Insn("ret")]
    return host.define(name, code, argc=1, **kw)


def call_to_enqueue(host: Any, iseq: Any, min_calls: int, arg: int = 1) -> None:
    """Call ``iseq`` through the call path until it has been called ``min_calls`` times (the
    call that reaches ``min_calls`` is the one that hands it to the engine)."""
    while iseq.body.total_calls < min_calls:
        host.call(iseq, arg)


def settle(host: Any, engine: Any, iseq: Any, timeout: float = COMPILE_WAIT) -> Any:
    """Wait until ``iseq`` is no longer NOT_READY (running postponed jobs meanwhile) and
    return its ``jit_func``."""
    def done() -> bool:
        host.check_ints()
        return iseq.body.jit_func != JitState.NOT_READY
    wait_for(done, timeout, f"{iseq.name} to leave NOT_READY",
             extra=lambda: f"jit_func={iseq.body.jit_func!r}")
    return iseq.body.jit_func


def compiled(host: Any, engine: Any, iseq: Any, timeout: float = COMPILE_WAIT) -> Any:
    """Wait for ``iseq``'s compilation to end and assert that it produced code."""
    func = settle(host, engine, iseq, timeout)
    assert is_compiled(func), f"{iseq.name} was not compiled: jit_func={func!r}"
    return func


def compile_methods(host: Any, engine: Any, *ks: int, prefix: str = "m",
                    timeout: float = STEP_WAIT) -> list[Any]:
    """Define ``<prefix><k>(x) = x * k + k`` for each ``k``, queue them all through the call
    path, wait until each is compiled, and return them."""
    methods = [define_affine(host, f"{prefix}{k}", k) for k in ks]
    for m in methods:
        call_to_enqueue(host, m, host.options.min_calls)
    for m in methods:
        compiled(host, engine, m, timeout)
    return methods


