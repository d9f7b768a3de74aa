"""The C generator (the role of CRuby's ``mjit_compile.c``).

Each method becomes ``int64_t name(int64_t *args)``: stack slots and locals are C locals,
jumps are gotos, arithmetic wraps through ``uint64_t`` helpers of the host header.  Methods
reached through call caches become ``static`` functions of the same file, so the unit needs
nothing but its own code and the values frozen in the snapshot."""

from __future__ import annotations

import re
from typing import IO, Mapping

from ._snapshot import FrozenMethod

__all__ = ["emit_unit", "C_IDENTIFIER"]

C_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

_BINARY = {"add": "mjit_wrap_add", "sub": "mjit_wrap_sub", "mul": "mjit_wrap_mul"}
_COMPARE = {"lt": "<", "le": "<=", "eq": "==", "ne": "!=", "gt": ">", "ge": ">="}


def _literal(value: int) -> str:
    return f"MJIT_I64(0x{value & ((1 << 64) - 1):016x}ULL)"


def _comment(method: FrozenMethod) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.:<>@ -]", "?", method.name)
    return f"/* {safe} (iseq #{method.iseq_id}) */"


def _emit_method(out: IO[str], method: FrozenMethod, cname: str, storage: str,
                 names: Mapping[int, str]) -> None:
    depths = [d for d in method.depths if d is not None]
    nslots = max(depths) + 1
    call_argcs = [i.operands[1] for i in method.code if i.op == "call"]
    targets = {i.operands[0] for pc, i in enumerate(method.code)
               if i.op in ("jump", "branchif", "branchunless") and method.depths[pc] is not None}
    w = out.write
    w(f"{_comment(method)}\n{storage}int64_t\n{cname}(int64_t *args)\n{{\n")
    w("    int64_t " + ", ".join(f"s{i} = 0" for i in range(nslots)) + ";\n")
    if method.nlocals:
        w("    int64_t " + ", ".join(f"l{i} = 0" for i in range(method.nlocals)) + ";\n")
    w(f"    int64_t argv[{max(call_argcs, default=1) or 1}];\n")
    w("    (void)args; (void)argv;\n")
    for pc, insn in enumerate(method.code):
        d = method.depths[pc]
        if d is None:
            continue
        if pc in targets:
            w(f"  L{pc}: ;\n")
        w("    " + _statement(method, insn, d, names) + "\n")
    w("}\n\n")


def _statement(method: FrozenMethod, insn, d: int, names: Mapping[int, str]) -> str:
    op, ops = insn.op, insn.operands
    if op == "push":
        return f"s{d} = {_literal(ops[0])};"
    if op == "arg":
        return f"s{d} = args[{ops[0]}];"
    if op == "load":
        return f"s{d} = l{ops[0]};"
    if op == "store":
        return f"l{ops[0]} = s{d - 1};"
    if op in _BINARY:
        return f"s{d - 2} = {_BINARY[op]}(s{d - 2}, s{d - 1});"
    if op in _COMPARE:
        return f"s{d - 2} = (int64_t)(s{d - 2} {_COMPARE[op]} s{d - 1});"
    if op == "dup":
        return f"s{d} = s{d - 1};"
    if op == "pop":
        return ";"
    if op == "jump":
        return f"goto L{ops[0]};"
    if op == "branchif":
        return f"if (s{d - 1} != 0) goto L{ops[0]};"
    if op == "branchunless":
        return f"if (s{d - 1} == 0) goto L{ops[0]};"
    if op == "call":
        cache, argc = ops
        base = d - argc
        moves = "".join(f"argv[{i}] = s{base + i}; " for i in range(argc))
        callee = names[method.calls[cache][0]]
        return f"{moves}s{base} = {callee}(argv);"
    if op == "getconst":
        return f"s{d} = {_literal(method.consts[ops[0]])}; /* constant */"
    if op == "ret":
        return f"return s{d - 1};"
    raise AssertionError(f"unknown instruction {insn!r}")  # verify() admits no other


def emit_unit(out: IO[str], funcname: str, root_id: int,
              methods: Mapping[int, FrozenMethod]) -> None:
    """Write ``int64_t funcname(int64_t *args)`` for ``methods[root_id]``, and a static
    function for every other method in ``methods`` (which must be closed under calls)."""
    names = {iseq_id: (funcname if iseq_id == root_id else f"{funcname}_m{iseq_id}")
             for iseq_id in methods}
    others = sorted(i for i in methods if i != root_id)
    for iseq_id in others:
        out.write(f"static int64_t {names[iseq_id]}(int64_t *args);\n")
    if others:
        out.write("\n")
    out.write(f"int64_t {funcname}(int64_t *args);\n\n")
    _emit_method(out, methods[root_id], funcname, "", names)
    for iseq_id in others:
        _emit_method(out, methods[iseq_id], names[iseq_id], "static ", names)
