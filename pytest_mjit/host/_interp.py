"""The reference interpreter: what every compiled function must agree with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

from .._errors import MjitError
from ._bytecode import wrap64

if TYPE_CHECKING:
    from ._bytecode import ISeq

__all__ = ["StepBudget", "interpret"]

_COMPARE = {
    "lt": lambda a, b: a < b, "le": lambda a, b: a <= b, "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
}


class StepBudget:
    """How many more instructions one top-level call may run."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def spend(self, iseq: "ISeq") -> None:
        self.left -= 1
        if self.left < 0:
            raise MjitError(f"ISeq {iseq.name!r} ran more than {self.limit} instructions "
                            "(step limit; does it loop forever?)")


def interpret(iseq: "ISeq", args: Sequence[int], budget: StepBudget,
              call: Callable[["ISeq", list[int]], int]) -> int:
    """Run ``iseq`` on ``args``; ``call(callee, args)`` performs each ``call`` instruction.

    Reads the call caches and inline storage as they are now (main thread)."""
    code = iseq.code
    caches = iseq._call_caches
    storage = iseq._inline_storage
    local = [0] * iseq.nlocals
    stack: list[int] = []
    push, pop = stack.append, stack.pop
    pc = 0
    while True:
        budget.spend(iseq)
        insn = code[pc]
        op = insn.op
        pc += 1
        if op == "push":
            push(insn.operands[0])
        elif op == "arg":
            push(args[insn.operands[0]])
        elif op == "load":
            push(local[insn.operands[0]])
        elif op == "store":
            local[insn.operands[0]] = pop()
        elif op == "add":
            b = pop()
            push(wrap64(pop() + b))
        elif op == "sub":
            b = pop()
            push(wrap64(pop() - b))
        elif op == "mul":
            b = pop()
            push(wrap64(pop() * b))
        elif op in _COMPARE:
            b = pop()
            push(1 if _COMPARE[op](pop(), b) else 0)
        elif op == "dup":
            push(stack[-1])
        elif op == "pop":
            pop()
        elif op == "jump":
            pc = insn.operands[0]
        elif op == "branchif":
            if pop() != 0:
                pc = insn.operands[0]
        elif op == "branchunless":
            if pop() == 0:
                pc = insn.operands[0]
        elif op == "call":
            cache, argc = insn.operands
            callee_args = stack[len(stack) - argc:]
            del stack[len(stack) - argc:]
            push(call(caches[cache].callee, callee_args))
        elif op == "getconst":
            push(storage[insn.operands[0]].value)
        elif op == "ret":
            return pop()
        else:  # pragma: no cover - verify() admits only the ops above
            raise MjitError(f"ISeq {iseq.name!r}: unknown instruction {insn!r}")
