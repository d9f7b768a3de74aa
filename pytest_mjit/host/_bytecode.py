"""The host's bytecode: instructions, verification, and the ISeq that carries them."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Sequence

from ..contract import JitFunc, JitState
from .._errors import MjitError
from ._cbody import CMemory, unit_id_at

if TYPE_CHECKING:
    from ._vm import Host

__all__ = [
    "Insn", "Location", "Body", "ISeq", "CallCache", "Constant", "InlineStorage", "OPERAND_COUNTS",
    "INT64_MIN", "INT64_MAX", "wrap64", "check_int64", "verify",
]

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
_MASK64 = (1 << 64) - 1

#: The largest operand stack a verified ISeq may need.
MAX_STACK_DEPTH = 1000

#: Number of integer operands each instruction takes.
OPERAND_COUNTS: dict[str, int] = {
    "push": 1, "arg": 1, "load": 1, "store": 1,
    "add": 0, "sub": 0, "mul": 0,
    "lt": 0, "le": 0, "eq": 0, "ne": 0, "gt": 0, "ge": 0,
    "dup": 0, "pop": 0,
    "jump": 1, "branchif": 1, "branchunless": 1,
    "call": 2, "getconst": 1, "ret": 0,
}

#: Change of stack depth per instruction (``call`` is computed from its operand).
_STACK_EFFECT: dict[str, int] = {
    "push": 1, "arg": 1, "load": 1, "store": -1,
    "add": -1, "sub": -1, "mul": -1,
    "lt": -1, "le": -1, "eq": -1, "ne": -1, "gt": -1, "ge": -1,
    "dup": 1, "pop": -1,
    "jump": 0, "branchif": -1, "branchunless": -1,
    "getconst": 1, "ret": -1,
}

#: Operands an instruction needs on the stack before it runs.
_STACK_NEEDS: dict[str, int] = {
    "store": 1, "add": 2, "sub": 2, "mul": 2, "lt": 2, "le": 2, "eq": 2, "ne": 2,
    "gt": 2, "ge": 2, "dup": 1, "pop": 1, "branchif": 1, "branchunless": 1, "ret": 1,
}


def wrap64(value: int) -> int:
    """``value`` reduced to a signed 64-bit integer (two's complement wrap-around)."""
    value &= _MASK64
    return value - (1 << 64) if value > INT64_MAX else value


def check_int64(value: Any, what: str) -> int:
    """``value`` if it is an int in the signed 64-bit range, else ``MjitError`` naming ``what``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise MjitError(f"{what} must be an int, got {value!r}")
    if not INT64_MIN <= value <= INT64_MAX:
        raise MjitError(f"{what} must fit in a signed 64-bit integer, got {value}")
    return value


@dataclasses.dataclass(frozen=True, init=False)
class Insn:
    """One instruction: ``Insn("push", 5)``, ``Insn("call", 0, 2)``, ``Insn("ret")``."""

    op: str
    operands: tuple[int, ...]

    def __init__(self, op: str, *operands: int) -> None:
        if op not in OPERAND_COUNTS:
            raise MjitError(f"unknown instruction {op!r} (known: {', '.join(OPERAND_COUNTS)})")
        if len(operands) != OPERAND_COUNTS[op]:
            raise MjitError(
                f"instruction {op!r} takes {OPERAND_COUNTS[op]} operand(s), got {len(operands)}")
        for x in operands:
            if not isinstance(x, int) or isinstance(x, bool):
                raise MjitError(f"instruction {op!r}: operands must be ints, got {x!r}")
        if op == "push":
            check_int64(operands[0], "the operand of 'push'")
        elif any(x < 0 for x in operands):
            raise MjitError(f"instruction {op!r}: operands must not be negative, got {operands}")
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "operands", tuple(operands))

    def __reduce__(self):
        return (Insn, (self.op, *self.operands))

    def __repr__(self) -> str:
        return f"Insn({', '.join(map(repr, (self.op, *self.operands)))})"


@dataclasses.dataclass(frozen=True)
class Location:
    """Where an ISeq was defined (C: ``body->location``)."""

    label: str
    path: str
    first_lineno: int


class Body:
    """The part of an ISeq the engine reads and writes (C: ``rb_iseq_constant_body``).

    ``jit_func`` and ``total_calls`` live in the method's C memory (``struct pmj_body``), so
    Python and C engines write the same word the call path reads.  ``jit_func`` reads as a
    ``JitState`` or a ``JitFunc``; ``jit_unit`` is the engine's own (a Python object, or the
    address a C engine stored)."""

    __slots__ = ("location", "_c", "_func", "_unit")

    def __init__(self, location: Location, memory: CMemory) -> None:
        self.location = location
        self._c = memory.body
        self._func: JitFunc | None = None
        self._unit: Any = None

    @property
    def jit_func(self) -> Any:
        raw = self._c.jit_func or 0
        if raw <= int(JitState.NOT_COMPILED):
            return JitState(raw)
        func = self._func
        if func is None or func.address != raw:
            func = self._func = JitFunc(raw, unit_id_at(raw))
        return func

    @jit_func.setter
    def jit_func(self, value: Any) -> None:
        if isinstance(value, JitFunc):
            self._func = value
            self._c.jit_func = value.address
        elif isinstance(value, int) and not isinstance(value, bool) \
                and 0 <= value <= int(JitState.NOT_COMPILED):
            self._c.jit_func = int(value)
        else:
            raise MjitError(f"body.jit_func must be a JitState or a JitFunc, got {value!r}")

    @property
    def total_calls(self) -> int:
        return self._c.total_calls

    @total_calls.setter
    def total_calls(self, value: int) -> None:
        self._c.total_calls = value

    @property
    def jit_unit(self) -> Any:
        if self._unit is not None:
            return self._unit
        return self._c.jit_unit or None

    @jit_unit.setter
    def jit_unit(self, value: Any) -> None:
        self._unit = value
        if value is None:
            self._c.jit_unit = None

    def __repr__(self) -> str:
        return (f"Body(location={self.location!r}, total_calls={self.total_calls}, "
                f"jit_func={self.jit_func!r})")


@dataclasses.dataclass
class CallCache:
    """A call site's cache: the method it calls and that method's class serial (main thread)."""

    callee: "ISeq"
    class_serial: int


@dataclasses.dataclass
class Constant:
    """A host constant; ``host.set_const`` changes its value (main thread)."""

    name: str
    value: int


@dataclasses.dataclass
class InlineStorage:
    """An inline-storage entry: the constant it caches (main thread)."""

    constant: Constant

    @property
    def name(self) -> str:
        return self.constant.name

    @property
    def value(self) -> int:
        return self.constant.value


class ISeq:
    """One method.  ``code``, ``argc``, ``nlocals`` and ``name`` are immutable; ``body`` is shared
    with the engine; ``call_caches`` and ``inline_storage`` belong to the main thread."""

    def __init__(self, host: "Host", iseq_id: int, name: str, code: tuple[Insn, ...],
                 argc: int, nlocals: int, class_serial: int, location: Location,
                 call_caches: list[CallCache], inline_storage: list[InlineStorage],
                 depths: tuple[int | None, ...]) -> None:
        self._host = host
        self.id = iseq_id
        self.name = name
        self.code = code
        self.argc = argc
        self.nlocals = nlocals
        self.class_serial = class_serial
        self.freed = False
        self._call_caches = call_caches
        self._inline_storage = inline_storage
        self._c = CMemory(iseq_id, location.label, location.path, location.first_lineno,
                          len(code), [c.callee.argc for c in call_caches], len(inline_storage))
        self._body = Body(location, self._c)
        self.sync_caches()
        # The numbers of entries never change, so any thread may read them.
        self._ncalls = len(call_caches)
        self._nconsts = len(inline_storage)
        # Stack depth before each instruction (None where unreachable), found by verify().
        self._depths = depths

    def sync_caches(self) -> None:
        """Write the call caches and inline storage into the C memory.  Main thread."""
        self._c.set_calls([(cc.callee.id, cc.class_serial) for cc in self._call_caches])
        self._c.set_consts([(id(e.constant), e.value) for e in self._inline_storage])

    @property
    def c_address(self) -> int:
        """Address of this method's ``struct pmj_iseq`` (the handle C engines take)."""
        return self._c.address

    @property
    def body(self) -> Body:
        """The shared body; reading it after GC freed the ISeq is a recorded violation."""
        if self.freed:
            self._host._violation(f"read of the body of freed ISeq {self.name!r}", self)
        return self._body

    @property
    def call_caches(self) -> list[CallCache]:
        """The call caches; reading them off the main thread is a recorded violation."""
        self._host._main_data_read("call_caches", self)
        return self._call_caches

    @property
    def inline_storage(self) -> list[InlineStorage]:
        """The inline storage; reading it off the main thread is a recorded violation."""
        self._host._main_data_read("inline_storage", self)
        return self._inline_storage

    def __repr__(self) -> str:
        state = " freed" if self.freed else ""
        return f"<ISeq #{self.id} {self.name!r} argc={self.argc}{state}>"


def _successors(pc: int, insn: Insn) -> list[int]:
    if insn.op == "ret":
        return []
    if insn.op == "jump":
        return [insn.operands[0]]
    if insn.op in ("branchif", "branchunless"):
        return [pc + 1, insn.operands[0]]
    return [pc + 1]


def verify(name: str, code: Sequence[Insn], argc: int, nlocals: int,
           callee_argcs: Sequence[int], nconsts: int) -> tuple[int | None, ...]:
    """Check ``code`` and return the stack depth before each instruction (None: unreachable).

    Raises ``MjitError`` naming the first problem: an index out of range, a jump outside the
    code, stack underflow, different depths where paths join, or falling off the end."""
    if not code:
        raise MjitError(f"ISeq {name!r}: the code is empty (it must end in 'ret')")

    def bad(pc: int, why: str) -> MjitError:
        return MjitError(f"ISeq {name!r}: instruction {pc} {code[pc]!r}: {why}")

    for pc, insn in enumerate(code):
        if not isinstance(insn, Insn):
            raise MjitError(f"ISeq {name!r}: instruction {pc} is {insn!r}, not an Insn")
        op, ops = insn.op, insn.operands
        if op == "arg" and ops[0] >= argc:
            raise bad(pc, f"argument index out of range (argc={argc})")
        if op in ("load", "store") and ops[0] >= nlocals:
            raise bad(pc, f"local index out of range (nlocals={nlocals})")
        if op in ("jump", "branchif", "branchunless") and ops[0] >= len(code):
            raise bad(pc, f"jump target outside the code (length {len(code)})")
        if op == "call":
            if ops[0] >= len(callee_argcs):
                raise bad(pc, f"call cache index out of range ({len(callee_argcs)} call caches)")
            if ops[1] != callee_argcs[ops[0]]:
                raise bad(pc, f"passes {ops[1]} argument(s) but the callee takes "
                              f"{callee_argcs[ops[0]]}")
        if op == "getconst" and ops[0] >= nconsts:
            raise bad(pc, f"inline storage index out of range ({nconsts} entries)")

    depths: list[int | None] = [None] * len(code)
    depths[0] = 0
    work = [0]
    while work:
        pc = work.pop()
        insn = code[pc]
        depth = depths[pc]
        assert depth is not None
        needs = insn.operands[1] if insn.op == "call" else _STACK_NEEDS.get(insn.op, 0)
        if depth < needs:
            raise bad(pc, f"stack underflow (depth {depth}, needs {needs})")
        after = depth + (1 - insn.operands[1] if insn.op == "call" else _STACK_EFFECT[insn.op])
        if after > MAX_STACK_DEPTH:
            raise bad(pc, f"stack deeper than {MAX_STACK_DEPTH}")
        for nxt in _successors(pc, insn):
            if nxt >= len(code):
                raise bad(pc, "execution falls off the end of the code (missing 'ret' or 'jump')")
            if depths[nxt] is None:
                depths[nxt] = after
                work.append(nxt)
            elif depths[nxt] != after:
                raise MjitError(
                    f"ISeq {name!r}: instruction {nxt} {code[nxt]!r} is reached with stack "
                    f"depth {depths[nxt]} and with depth {after} (from instruction {pc})")
    return tuple(depths)

