"""Hypothesis strategies for host programs that always terminate, and for their arguments.

A strategy draws a *recipe* (``ProgramSpec``), not live ISeqs: ``define_program(host, spec)``
turns it into methods of a host, so the same recipe can be replayed on any host (and shrinks
as plain data).  Programs are built from structured pieces (expressions, ifs, loops with a
bounded counter, calls to earlier functions only) and every piece is charged against a step
budget, so no program runs more than about ``STEP_BUDGET`` instructions per call."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from hypothesis import strategies as st

from .host import Insn, ISeq
from .host._bytecode import INT64_MAX, INT64_MIN

__all__ = [
    "FunctionSpec", "ProgramSpec", "define_program", "int64s", "arguments", "programs",
    "programs_with_arguments", "STEP_BUDGET",
]

#: Upper bound (roughly) on the instructions one call of a generated function interprets.
STEP_BUDGET = 20_000
_MAX_LOOP = 5
_MAX_LOCALS = 3

_EDGES = (0, 1, -1, 2, -2, INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
          1 << 32, -(1 << 32), (1 << 31) - 1, -(1 << 31), 0x5555555555555555, -0x5555555555555556)


def int64s() -> st.SearchStrategy[int]:
    """Signed 64-bit integers, biased towards small values and the wrap-around edges."""
    return st.one_of(st.sampled_from(_EDGES), st.integers(-16, 16),
                     st.integers(INT64_MIN, INT64_MAX))


def arguments(argc: int) -> st.SearchStrategy[tuple[int, ...]]:
    """A tuple of ``argc`` arguments."""
    return st.tuples(*[int64s()] * argc)


@dataclasses.dataclass(frozen=True)
class FunctionSpec:
    """One method of a program: ``calls`` are indices of earlier functions of the program
    (call cache c calls ``functions[calls[c]]``), ``consts`` names of program constants."""

    name: str
    argc: int
    nlocals: int
    code: tuple[Insn, ...]
    calls: tuple[int, ...] = ()
    consts: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class ProgramSpec:
    """Functions in definition order (each calls only earlier ones) and the constants they
    read; the last function is the entry point."""

    functions: tuple[FunctionSpec, ...]
    consts: tuple[tuple[str, int], ...] = ()

    @property
    def entry(self) -> FunctionSpec:
        return self.functions[-1]


def define_program(host: Any, spec: ProgramSpec, prefix: str = "", *,
                   root: bool = True) -> list[ISeq]:
    """Set the program's constants and define its functions on ``host`` (main thread).

    Names get ``prefix``; constants too, so programs with different prefixes do not share
    them.  Returns the ISeqs in order; the last is the entry point."""
    for name, value in spec.consts:
        host.set_const(prefix + name, value)
    iseqs: list[ISeq] = []
    for fn in spec.functions:
        iseqs.append(host.define(
            prefix + fn.name, fn.code, argc=fn.argc, nlocals=fn.nlocals,
            calls=[iseqs[i] for i in fn.calls], consts=[prefix + c for c in fn.consts],
            path="<strategies>", lineno=len(iseqs) + 1, root=root))
    return iseqs


class _Emitter:
    """Bytecode under construction, with labels patched once their position is known."""

    def __init__(self) -> None:
        self.code: list[tuple] = []
        self._labels: dict[int, int] = {}

    def label(self) -> int:
        key = len(self._labels)
        self._labels[key] = -1
        return key

    def place(self, label: int) -> None:
        self._labels[label] = len(self.code)

    def emit(self, op: str, *operands: int) -> None:
        self.code.append((op, *operands))

    def jump(self, op: str, label: int) -> None:
        self.code.append((op, ("label", label)))

    def finish(self) -> tuple[Insn, ...]:
        out = []
        for op, *operands in self.code:
            ops = [self._labels[x[1]] if isinstance(x, tuple) else x for x in operands]
            out.append(Insn(op, *ops))
        return tuple(out)


class _FunctionBuilder:
    """Draws one function's body, charging every piece against its step budget."""

    def __init__(self, draw, argc: int, nlocals: int, earlier: Sequence[tuple[int, int]],
                 const_names: Sequence[str]) -> None:
        self.draw = draw
        self.argc = argc
        self.nlocals = nlocals
        self.earlier = earlier              # (argc, cost) of each earlier function
        self.const_names = const_names
        self.budget = STEP_BUDGET
        self.counters = 0                   # loop counters live after the user locals
        self.calls: list[int] = []
        self.consts: list[str] = []
        self.out = _Emitter()

    def charge(self, cost: int, mult: int) -> bool:
        if cost * mult > self.budget:
            return False
        self.budget -= cost * mult
        return True

    def expr(self, depth: int, mult: int) -> None:
        d = self.draw
        kinds = ["const", "arg", "local", "getconst"]
        if depth > 0:
            kinds += ["bin", "bin", "cond", "self", "or", "call"]
        kind = d(st.sampled_from(kinds))
        out = self.out
        if kind == "arg" and self.argc and self.charge(1, mult):
            out.emit("arg", d(st.integers(0, self.argc - 1)))
        elif kind == "local" and self.nlocals and self.charge(1, mult):
            out.emit("load", d(st.integers(0, self.nlocals - 1)))
        elif kind == "getconst" and self.const_names and self.charge(1, mult):
            self.consts.append(d(st.sampled_from(self.const_names)))
            out.emit("getconst", len(self.consts) - 1)
        elif kind == "bin" and self.charge(1, mult):
            self.expr(depth - 1, mult)
            self.expr(depth - 1, mult)
            out.emit(d(st.sampled_from(["add", "sub", "mul", "lt", "le", "eq", "ne", "gt", "ge"])))
        elif kind == "self" and self.charge(2, mult):
            self.expr(depth - 1, mult)
            out.emit("dup")
            out.emit(d(st.sampled_from(["mul", "add", "sub", "lt", "le", "eq", "ne", "gt", "ge"])))
        elif kind == "cond" and self.charge(2, mult):
            other, end = out.label(), out.label()
            self.expr(depth - 1, mult)
            out.jump("branchunless", other)
            self.expr(depth - 1, mult)
            out.jump("jump", end)
            out.place(other)
            self.expr(depth - 1, mult)
            out.place(end)
        elif kind == "or" and self.charge(3, mult):
            end = out.label()
            self.expr(depth - 1, mult)
            out.emit("dup")
            out.jump("branchif", end)
            out.emit("pop")
            self.expr(depth - 1, mult)
            out.place(end)
        elif kind == "call" and self.earlier:
            callee = d(st.integers(0, len(self.earlier) - 1))
            argc, cost = self.earlier[callee]
            if not self.charge(cost + 2, mult):
                out.emit("push", d(int64s()))
                return
            for _ in range(argc):
                self.expr(depth - 1, mult)
            self.calls.append(callee)
            out.emit("call", len(self.calls) - 1, argc)
        else:
            self.charge(1, mult)
            out.emit("push", d(int64s()))

    def statement(self, depth: int, mult: int) -> None:
        d = self.draw
        kinds = ["discard"] + (["assign", "assign"] if self.nlocals else [])
        if depth > 0:
            kinds += ["if", "loop", "early_return"]
        kind = d(st.sampled_from(kinds))
        out = self.out
        if kind == "assign":
            self.expr(2, mult)
            out.emit("store", d(st.integers(0, self.nlocals - 1)))
        elif kind == "if" and self.charge(1, mult):
            other, end = out.label(), out.label()
            self.expr(2, mult)
            out.jump("branchunless", other)
            self.block(depth - 1, mult)
            out.jump("jump", end)
            out.place(other)
            self.block(depth - 1, mult)
            out.place(end)
        elif kind == "loop" and self.counters < 2:
            n = d(st.integers(0, _MAX_LOOP))
            if not self.charge(8, mult * (n + 1)):
                return
            counter = self.nlocals + self.counters
            self.counters += 1
            top, end = out.label(), out.label()
            out.emit("push", 0)
            out.emit("store", counter)
            out.place(top)
            out.emit("load", counter)
            out.emit("push", n)
            out.emit("lt")
            out.jump("branchunless", end)
            self.block(depth - 1, mult * max(n, 1))
            out.emit("load", counter)
            out.emit("push", 1)
            out.emit("add")
            out.emit("store", counter)
            out.jump("jump", top)
            out.place(end)
            self.counters -= 1
        elif kind == "early_return":
            skip = out.label()
            self.expr(1, mult)
            out.jump("branchunless", skip)
            self.expr(2, mult)
            out.emit("ret")
            out.place(skip)
        else:
            self.expr(2, mult)
            out.emit("pop")

    def block(self, depth: int, mult: int) -> None:
        for _ in range(self.draw(st.integers(0, 3))):
            self.statement(depth, mult)

    def build(self) -> tuple[tuple[Insn, ...], int]:
        """The function's code and the number of locals it needs (counters included)."""
        self.block(2, 1)
        self.expr(3, 1)
        self.out.emit("ret")
        return self.out.finish(), self.nlocals + 2


@st.composite
def programs(draw, max_functions: int = 4, max_argc: int = 3,
             max_consts: int = 3) -> ProgramSpec:
    """A ``ProgramSpec`` whose every function terminates within about ``STEP_BUDGET`` steps."""
    consts = tuple((f"C{i}", draw(int64s())) for i in range(draw(st.integers(0, max_consts))))
    const_names = [name for name, _ in consts]
    functions: list[FunctionSpec] = []
    earlier: list[tuple[int, int]] = []
    for index in range(draw(st.integers(1, max_functions))):
        argc = draw(st.integers(0, max_argc))
        builder = _FunctionBuilder(draw, argc, draw(st.integers(0, _MAX_LOCALS)), earlier,
                                   const_names)
        code, nlocals = builder.build()
        functions.append(FunctionSpec(f"f{index}", argc, nlocals, code, tuple(builder.calls),
                                      tuple(builder.consts)))
        earlier.append((argc, STEP_BUDGET - builder.budget + 1))
    return ProgramSpec(tuple(functions), consts)


@st.composite
def programs_with_arguments(draw, max_functions: int = 4, min_runs: int = 1,
                            max_runs: int = 4) -> tuple[ProgramSpec, list[tuple[int, ...]]]:
    """A program and a few argument tuples for its entry point."""
    spec = draw(programs(max_functions=max_functions))
    runs = draw(st.lists(arguments(spec.entry.argc), min_size=min_runs, max_size=max_runs))
    return spec, runs
