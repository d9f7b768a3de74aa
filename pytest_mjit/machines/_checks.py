"""The invariants checked after every step, each on effects the harness observes (the host's
event log and violations, /proc/self/maps, the ISeqs' ``jit_func``), never on engine.stats()."""

from __future__ import annotations

import ctypes
import dataclasses
import re
from typing import Any, Iterable

from .._rig import Leftovers
from ..contract import JitState, is_compiled
from ..host import ISeq
from ..host._interp import StepBudget, interpret
from ..host._maps import mapped_regions

__all__ = ["Method", "ProtocolViolation", "StepState", "expected_result", "check_step",
           "call_compiled", "gc_snapshot", "child_check", "blamed", "clauses_of",
           "leftover_problems"]

_FUNC = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.POINTER(ctypes.c_int64))
_STEP_LIMIT = 1_000_000


class ProtocolViolation(AssertionError):
    """An invariant of the protocol does not hold after a step.  ``clauses`` names the
    clauses whose checks failed (empty when some problem names none)."""

    def __init__(self, message: str, clauses: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.clauses = tuple(clauses)


_BLAMED = re.compile(r"^\[([A-Z]+-\d+)\] ")

#: Host violations by the clause they break (a substring of the host's message).
_VIOLATION_CLAUSES = (
    ("generate_code entered while the host is in GC", "GC-1"),
    ("GC started while generate_code runs", "GC-2"),
    ("off the main thread", "COPYJOB-1"),
    ("not in an executable mapping", "LOAD-1"),
)


def blamed(clause: str | None, text: str) -> str:
    """A problem's text, prefixed ``[CLAUSE] `` when it is known which clause it breaks."""
    return f"[{clause}] {text}" if clause else text


def clauses_of(problems: Iterable[str]) -> tuple[str, ...]:
    """The clauses the problems name, in order; empty when any problem names none (then the
    failure is every checked clause's)."""
    found: list[str] = []
    for problem in problems:
        m = _BLAMED.match(problem)
        if m is None:
            return ()
        if m.group(1) not in found:
            found.append(m.group(1))
    return tuple(found)


#: The clause each kind of leftover (``_rig.LEFTOVER_KINDS``) breaks.
_LEFTOVER_CLAUSES = {"threads": "FINISH-1", "children": "FINISH-1", "files": "FINISH-2",
                     "maps": "FINISH-3"}


def leftover_problems(left: Leftovers) -> list[str]:
    """FINISH-1/2/3: one problem per kind of thing the rig found left after finish."""
    return [blamed(_LEFTOVER_CLAUSES[kind], f"after finish the engine left {line}")
            for kind, line in left.items()]


def _violation_clause(detail: str) -> str | None:
    return next((cid for text, cid in _VIOLATION_CLAUSES if text in detail), None)


@dataclasses.dataclass
class Method:
    """A method the machine defined: its ISeq, the arguments it is checked with and what the
    interpreter returns for them (computed once, on the main thread, without the call path)."""

    iseq: ISeq
    args: tuple[int, ...]
    expected: int
    program: int

    @property
    def alive(self) -> bool:
        return not self.iseq.freed


def expected_result(iseq: ISeq, args: tuple[int, ...]) -> int:
    """What ``iseq`` returns for ``args``, by the interpreter alone (no counting, no JIT)."""
    budget = StepBudget(_STEP_LIMIT)

    def call(callee: ISeq, callee_args: list[int]) -> int:
        return interpret(callee, callee_args, budget, call)

    return interpret(iseq, list(args), budget, call)


def call_compiled(address: int, args: tuple[int, ...]) -> int:
    """Call compiled code directly (the address must be in an executable mapping)."""
    argv = (ctypes.c_int64 * max(1, len(args)))(*args)
    return int(_FUNC(address)(argv))


@dataclasses.dataclass
class StepState:
    """What the checks remember between steps."""

    violations_seen: int = 0
    #: jit_func of every live method when GC began (None outside GC)
    at_gc_begin: dict[int, Any] | None = None
    #: ids of the live methods that had code after the previous step
    had_code: set[int] = dataclasses.field(default_factory=set)
    #: how far the example got: live methods whose code went away (unloaded, or replaced by
    #: a recompile that failed), and steps that ended with a full cache
    unloads: int = 0
    full_cache_steps: int = 0


def check_step(host: Any, methods: list[Method], state: StepState, *, max_cache_size: int,
               held_frames: int, stops: int, code_checks: bool) -> list[str]:
    """Every invariant after one step; the list of what is broken (empty when all hold).

    ``stops`` counts the pauses and forks so far: each may let one unit past a full cache
    (QUEUE-6 note)."""
    problems: list[str] = []
    violations = host.violations
    for v in violations[state.violations_seen:]:
        problems.append(blamed(_violation_clause(v.detail), f"host violation: {v.detail} "
                                                            f"(event #{v.seq}, thread {v.thread})"))
    state.violations_seen = len(violations)

    live = [m for m in methods if m.alive]
    if state.at_gc_begin is not None:
        # GC-4: a method that had no code when GC began gets none before GC ends.
        for m in live:
            before = state.at_gc_begin.get(m.iseq.id)
            now = m.iseq.body.jit_func
            if before is not None and not is_compiled(before) and is_compiled(now):
                problems.append(blamed("GC-4", f"{m.iseq.name}: code published while GC "
                                               f"runs ({JitState(before).name} -> unit "
                                               f"{now.unit_id})"))
    if not code_checks:
        return problems

    # jit_func first, maps after: code published meanwhile was loaded before it was published.
    funcs = [(m, m.iseq.body.jit_func) for m in live]
    funcs = [(m, func) for m, func in funcs if is_compiled(func)]
    ranges = mapped_regions(executable=True) if funcs else []
    compiled = {m.iseq.id for m, _ in funcs}
    for m, func in funcs:
        where = next((r.path for r in ranges if r.holds(func.address)), None)
        if where is None:
            problems.append(blamed("LOAD-1", f"{m.iseq.name}: jit_func (unit {func.unit_id}) "
                                             f"points to 0x{func.address:x}, which is not in "
                                             "an executable mapping"))
            continue
        got = call_compiled(func.address, m.args)
        if got != m.expected:
            problems.append(blamed("COMPILE-1", f"{m.iseq.name}{m.args}: compiled code (unit "
                                                f"{func.unit_id}, {where.rsplit('/', 1)[-1]}) "
                                                f"returned {got}, the interpreter {m.expected}"))
    state.unloads += sum(1 for m in live if m.iseq.id in state.had_code
                         and m.iseq.body.jit_func == JitState.NOT_COMPILED)
    state.had_code = compiled
    state.full_cache_steps += len(compiled) >= max_cache_size
    if len(compiled) > max_cache_size + held_frames + stops:
        problems.append(blamed("QUEUE-6", f"{len(compiled)} live methods have code, more than "
                                          f"max_cache_size {max_cache_size} + {held_frames} on "
                                          f"the stack + {stops} stops"))
    return problems


def gc_snapshot(methods: list[Method]) -> dict[int, Any]:
    """jit_func of every live method, taken when GC begins."""
    return {m.iseq.id: m.iseq.body.jit_func for m in methods if m.alive}


def child_check(methods: list[Method], violations_before: int):
    """``child_fn`` for ``host.fork``: problems with the methods as the child sees them."""
    def check(host: Any) -> list[str]:
        problems = []
        for m in methods:
            got = host.call(m.iseq, *m.args)
            if got != m.expected:
                problems.append(f"{m.iseq.name}{m.args}: returned {got} in the child, the "
                                f"interpreter {m.expected}")
        problems += [f"violation in the child: {v.detail}"
                     for v in host.violations[violations_before:]]
        return problems
    return check
