"""What GC sees: the live ISeqs with their roots, and the frames on the stack."""

from __future__ import annotations

import contextlib
from typing import Iterator

from ._bytecode import ISeq

__all__ = ["Heap", "Stacks"]


class Heap:
    """The live ISeqs by id, in definition order, and which of them are roots.

    Main thread only (definitions and GC run there), so it needs no lock."""

    def __init__(self) -> None:
        self._iseqs: dict[int, ISeq] = {}
        self._roots: set[int] = set()
        self._next_id = 1

    def new_id(self) -> int:
        """The id the next defined ISeq gets."""
        return self._next_id

    def add(self, iseq: ISeq, root: bool) -> None:
        """Make ``iseq``, made with ``new_id()``, live (and a root when ``root``)."""
        self._next_id += 1
        self._iseqs[iseq.id] = iseq
        if root:
            self._roots.add(iseq.id)

    def root(self, iseq: ISeq) -> None:
        """Keep ``iseq`` alive across GC."""
        self._roots.add(iseq.id)

    def unroot(self, iseq: ISeq) -> None:
        """Let GC free ``iseq`` once nothing else keeps it alive."""
        self._roots.discard(iseq.id)

    def holds(self, iseq: ISeq) -> bool:
        """True if ``iseq`` is live in this heap."""
        return self._iseqs.get(iseq.id) is iseq

    def live(self) -> list[ISeq]:
        """Every live ISeq, in definition order."""
        return list(self._iseqs.values())

    def roots(self) -> list[ISeq]:
        """The live ISeqs that are roots."""
        return [self._iseqs[i] for i in self._roots if i in self._iseqs]

    def forget(self, iseq: ISeq) -> None:
        """Drop a freed ISeq, root or not."""
        del self._iseqs[iseq.id]
        self._roots.discard(iseq.id)


class Stacks:
    """The frames of running calls (outermost first) and the frames ``host.frame`` holds
    (suspended continuations).  Main thread only."""

    def __init__(self) -> None:
        self._running: list[ISeq] = []
        self._held: list[ISeq] = []

    @property
    def depth(self) -> int:
        """How many calls are running."""
        return len(self._running)

    @contextlib.contextmanager
    def running(self, iseq: ISeq) -> Iterator[None]:
        """A frame of ``iseq`` runs for the duration of the block."""
        self._running.append(iseq)
        try:
            yield
        finally:
            self._running.pop()

    @contextlib.contextmanager
    def holding(self, iseq: ISeq) -> Iterator[None]:
        """A suspended frame of ``iseq`` stays on a stack for the duration of the block."""
        self._held.append(iseq)
        try:
            yield
        finally:
            self._held.remove(iseq)

    def frames(self) -> tuple[list[ISeq], list[ISeq]]:
        """Copies of the running frames and of the held frames."""
        return list(self._running), list(self._held)
