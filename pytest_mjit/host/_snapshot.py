"""Frozen copies of call caches and inline storage, taken on the main thread for the worker.

A snapshot covers every method reachable from the compiled ISeq through call caches, so the
C generator never needs to read a mutable host structure off the main thread."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import TYPE_CHECKING, Mapping

from ._bytecode import Insn

if TYPE_CHECKING:
    from ._bytecode import ISeq

__all__ = ["FrozenMethod", "CachedCall", "CachedConst", "Snapshot", "take_snapshot"]


@dataclasses.dataclass(frozen=True)
class CachedCall:
    """A call cache as it was: the callee's ISeq id and its class serial."""

    callee_id: int
    class_serial: int
    snapshot: "Snapshot" = dataclasses.field(repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class CachedConst:
    """An inline-storage entry as it was: the constant's name and value."""

    name: str
    value: int


@dataclasses.dataclass(frozen=True)
class FrozenMethod:
    """Everything the C generator needs from one method."""

    iseq_id: int
    name: str
    argc: int
    nlocals: int
    code: tuple[Insn, ...]
    depths: tuple[int | None, ...]
    calls: tuple[tuple[int, int], ...]   # (callee_id, class_serial) per call cache
    consts: tuple[int, ...]              # value per inline-storage entry


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """The methods reachable from ``root_id`` (itself included), keyed by ISeq id."""

    root_id: int
    methods: Mapping[int, FrozenMethod]


def take_snapshot(iseq: "ISeq") -> Snapshot:
    """Freeze ``iseq`` and every method it reaches through call caches.  Main thread only."""
    methods: dict[int, FrozenMethod] = {}
    todo = [iseq]
    while todo:
        cur = todo.pop()
        if cur.id in methods:
            continue
        caches = cur._call_caches
        methods[cur.id] = FrozenMethod(
            iseq_id=cur.id, name=cur.name, argc=cur.argc, nlocals=cur.nlocals, code=cur.code,
            depths=cur._depths,
            calls=tuple((cc.callee.id, cc.class_serial) for cc in caches),
            consts=tuple(entry.value for entry in cur._inline_storage),
        )
        todo.extend(cc.callee for cc in caches)
    return Snapshot(iseq.id, MappingProxyType(methods))
