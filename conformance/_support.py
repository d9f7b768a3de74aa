"""Helpers shared by the conformance tests: small programs, compiling a method through the
call path, and looking at compiled code from outside the engine (mappings, files, argv)."""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

import pytest

from pytest_mjit import JitState, is_compiled
from pytest_mjit._deadline import wait_for
from pytest_mjit.host import Insn
from pytest_mjit.host._maps import executable_ranges

#: Seconds (before the preset's scaling) a test waits for one method to be compiled.
COMPILE_WAIT = 15.0

_JIT_FUNC_TYPE = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.POINTER(ctypes.c_int64))


def define_affine(host, name: str, k: int, **kw):
    """``name(x) = x * k + k``: one argument, no call caches, a distinct result per ``k``."""
    code = [Insn("arg", 0), Insn("push", k), Insn("mul"), Insn("push", k), Insn("add"),
            Insn("ret")]
    return host.define(name, code, argc=1, **kw)


def call_to_enqueue(host, iseq, min_calls: int, arg: int = 1) -> None:
    """Call ``iseq`` through the call path until it has been called ``min_calls`` times (the
    call that reaches ``min_calls`` is the one that hands it to the engine)."""
    while iseq.body.total_calls < min_calls:
        host.call(iseq, arg)


def settle(host, engine, iseq, timeout: float = COMPILE_WAIT):
    """Wait until ``iseq`` is no longer NOT_READY (running postponed jobs meanwhile) and
    return its ``jit_func``."""
    def done() -> bool:
        host.check_ints()
        return iseq.body.jit_func != JitState.NOT_READY
    wait_for(done, timeout, f"{iseq.name} to leave NOT_READY",
             extra=lambda: f"jit_func={iseq.body.jit_func!r}")
    return iseq.body.jit_func


def compiled(host, engine, iseq, timeout: float = COMPILE_WAIT):
    """Wait for ``iseq``'s compilation to end and assert that it produced code."""
    func = settle(host, engine, iseq, timeout)
    assert is_compiled(func), f"{iseq.name} was not compiled: jit_func={func!r}"
    return func


def library_of(address: int) -> str | None:
    """Path of the file whose executable mapping holds ``address`` (without " (deleted)"),
    or None when no executable mapping holds it."""
    with open("/proc/self/maps") as f:
        text = f.read()
    for start, end, path in executable_ranges(text):
        if start <= address < end:
            return path[: -len(" (deleted)")] if path.endswith(" (deleted)") else path
    return None


def libraries_of(iseqs) -> list[str | None]:
    """``library_of`` of each ISeq's compiled code (None for an ISeq without code)."""
    funcs = [iseq.body.jit_func for iseq in iseqs]
    return [library_of(f.address) if is_compiled(f) else None for f in funcs]


def call_jit_func(func, *args: int) -> int:
    """Call compiled code directly, after checking that its address is still mapped
    executable (so an unloaded function fails the test instead of crashing it)."""
    if library_of(func.address) is None:
        pytest.fail(f"code of unit {func.unit_id} at 0x{func.address:x} is no longer mapped")
    argv = (ctypes.c_int64 * max(1, len(args)))(*args)
    return int(_JIT_FUNC_TYPE(func.address)(argv))


def object_inputs(invocation) -> list[str]:
    """The ``.o`` files a compiler invocation reads."""
    return [a for a in invocation.argv[1:] if a.endswith(".o") and a != invocation.output]


def compaction_links(shim) -> list:
    """Link invocations that combine several ``.o`` files into one library (compactions)."""
    return [i for i in shim.invocations() if i.kind == "link" and len(object_inputs(i)) > 1]


def unit_file_names(tmp_dir: str | Path, unit_id: int) -> list[str]:
    """Names of unit ``unit_id``'s ``.c``/``.o``/``.so`` files in ``tmp_dir`` (COMPILE-2)."""
    pattern = re.compile(rf"_ruby_mjit_p\d+u{unit_id}\.(c|o|so)")
    return sorted(n.name for n in Path(tmp_dir).iterdir() if pattern.fullmatch(n.name))


def unit_library_mapped(tmp_dir: str | Path, unit_id: int) -> bool:
    """True while unit ``unit_id``'s own ``.so`` (deleted or not) is mapped in this process."""
    pattern = re.compile(rf"_ruby_mjit_p\d+u{unit_id}\.so")
    prefix = str(Path(tmp_dir)) + "/"
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split(maxsplit=5)
            if len(fields) < 6:
                continue
            path = fields[5].rstrip("\n")
            if path.endswith(" (deleted)"):
                path = path[: -len(" (deleted)")]
            if path.startswith(prefix) and pattern.fullmatch(path[len(prefix):]):
                return True
    return False
