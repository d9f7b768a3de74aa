"""Every piece of shared state has one owner that says what guards it.

The host: no module of pytest_mjit/host but the Host's own writes the Host's private fields;
each concern (GC/codegen activity, heap, stacks, gates, postponed jobs, event log) is an object
the Host holds.  mjit_ref: every field that changes after construction is declared in
``mjit_ref/_state.py`` with its guard, and lock-guarded fields change only with the lock held
or where no worker runs."""

from __future__ import annotations

import ast
import dataclasses
import pathlib
import re

import mjit_ref
import pytest_mjit.host
from mjit_ref._state import Guard, State

HOST_DIR = pathlib.Path(pytest_mjit.host.__file__).parent
REF_DIR = pathlib.Path(mjit_ref.__file__).parent
STATE_FIELDS = {f.name: f.metadata["guard"] for f in dataclasses.fields(State)}
#: What else a State holds: the lock, its conditions and its methods.
STATE_EXTRAS = {"lock", "pch_wakeup", "client_wakeup", "worker_wakeup", "gc_wakeup",
                "make_sync_primitives", "next_unit_id"}
#: Modules whose code runs on the worker thread only.
WORKER_MODULES = {"_worker.py", "_convert.py", "_compaction.py", "_pch.py"}
#: A function that changes lock-guarded fields without taking the lock says why.
UNLOCKED_OK = re.compile(r"lock\s+held|no\s+worker\s+run", re.IGNORECASE)


def _modules(directory: pathlib.Path) -> list[tuple[str, ast.Module]]:
    return [(p.name, ast.parse(p.read_text(), str(p))) for p in sorted(directory.glob("*.py"))]


def _write_targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    elif isinstance(node, ast.Delete):
        targets = list(node.targets)
    else:
        return []
    flat: list[ast.expr] = []
    while targets:
        target = targets.pop()
        if isinstance(target, (ast.Tuple, ast.List)):
            targets.extend(target.elts)
        else:
            flat.append(target)
    return flat


def _private_attributes_off_self(target: ast.expr) -> list[str]:
    """Private attributes in a written chain like ``a._b[c].d`` not reached from ``self``."""
    found = []
    while isinstance(target, (ast.Attribute, ast.Subscript)):
        if isinstance(target, ast.Attribute) and target.attr.startswith("_") \
                and not target.attr.startswith("__"):
            if not (isinstance(target.value, ast.Name) and target.value.id == "self"):
                found.append(target.attr)
        target = target.value
    return found


def test_no_host_module_writes_another_objects_private_fields():
    offences = []
    for name, tree in _modules(HOST_DIR):
        for node in ast.walk(tree):
            for target in _write_targets(node):
                for attr in _private_attributes_off_self(target):
                    offences.append(f"pytest_mjit/host/{name}:{node.lineno} writes .{attr}")
    assert not offences, "\n".join(offences)


def test_only_the_host_reaches_into_the_host():
    offences = []
    for name, tree in _modules(HOST_DIR):
        if name == "_vm.py":
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and isinstance(node.value, ast.Name) and node.value.id in ("host", "vm")):
                offences.append(f"pytest_mjit/host/{name}:{node.lineno} uses "
                                f"{node.value.id}.{node.attr}")
    assert not offences, "\n".join(offences)


def _is_state(node: ast.expr) -> bool:
    """``state``, ``engine.state`` or ``self.state``."""
    return ((isinstance(node, ast.Name) and node.id == "state")
            or (isinstance(node, ast.Attribute) and node.attr == "state"))


def _takes_lock(node: ast.With) -> bool:
    return any(isinstance(item.context_expr, ast.Attribute) and item.context_expr.attr == "lock"
               for item in node.items)


def _state_writes(tree: ast.Module):
    """(line, field, function, lock taken) of every write to a field of the state."""
    out = []

    def visit(node: ast.AST, func: ast.FunctionDef | None, locked: bool) -> None:
        if isinstance(node, ast.FunctionDef):
            func, locked = node, False
        if isinstance(node, ast.With) and _takes_lock(node):
            locked = True
        for target in _write_targets(node):
            if isinstance(target, ast.Attribute) and _is_state(target.value):
                out.append((node.lineno, target.attr, func, locked))
        for child in ast.iter_child_nodes(node):
            visit(child, func, locked)

    visit(tree, None, False)
    return out


def test_mjit_ref_uses_only_declared_state():
    offences = []
    for name, tree in _modules(REF_DIR):
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and _is_state(node.value)
                    and node.attr not in STATE_FIELDS and node.attr not in STATE_EXTRAS):
                offences.append(f"mjit_ref/{name}:{node.lineno} uses undeclared state.{node.attr}")
    assert not offences, "\n".join(offences)


def test_mjit_ref_keeps_no_mutable_state_on_the_engine():
    """Modules change the engine only through ``engine.state``; the Engine sets its own
    attributes in ``__init__`` only (configuration)."""
    offences = []
    for name, tree in _modules(REF_DIR):
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef) or func.name == "__init__":
                continue
            for node in ast.walk(func):
                for target in _write_targets(node):
                    if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                            and (target.value.id == "engine"
                                 or (target.value.id == "self" and name == "_engine.py"))):
                        offences.append(f"mjit_ref/{name}:{node.lineno} sets "
                                        f"{target.value.id}.{target.attr}")
    assert not offences, "\n".join(offences)


def test_lock_guarded_state_changes_under_the_lock():
    offences = []
    for name, tree in _modules(REF_DIR):
        for line, attr, func, locked in _state_writes(tree):
            if STATE_FIELDS.get(attr) is not Guard.LOCK or locked:
                continue
            doc = (ast.get_docstring(func) or "") if func is not None else ""
            if not UNLOCKED_OK.search(doc):
                where = func.name if func is not None else "module level"
                offences.append(f"mjit_ref/{name}:{line} changes state.{attr} in {where} "
                                "without the lock (take it, or say in the docstring why none "
                                "is needed: 'lock held' by the caller, 'no worker runs')")
    assert not offences, "\n".join(offences)


def test_worker_code_never_touches_main_thread_state():
    offences = []
    for name, tree in _modules(REF_DIR):
        if name not in WORKER_MODULES:
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and _is_state(node.value)
                    and STATE_FIELDS.get(node.attr) is Guard.MAIN):
                offences.append(f"mjit_ref/{name}:{node.lineno} uses state.{node.attr}, "
                                "declared main thread only")
    assert not offences, "\n".join(offences)


def test_the_checks_see_a_planted_offence():
    """The walkers find what they look for (a check that sees nothing proves nothing)."""
    planted = ast.parse("def f(engine):\n"
                        "    engine.state.in_jit = True\n"
                        "    host._in_gc = False\n")
    assert [(w[1], w[3]) for w in _state_writes(planted)] == [("in_jit", False)]
    targets = [t for n in ast.walk(planted) for t in _write_targets(n)]
    assert [a for t in targets for a in _private_attributes_off_self(t)] == ["_in_gc"]
