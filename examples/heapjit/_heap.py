"""The unit queue: a binary heap ordered by each ISeq's call count at dequeue time."""

from __future__ import annotations

import heapq
import itertools
from typing import Any, Iterator

__all__ = ["UnitHeap"]


class UnitHeap:
    """Queued units; ``pop_hottest`` gives the one whose ISeq has the most calls now.

    Priorities are ``body.total_calls``, which the host raises on every call without telling
    the engine, so a key stored at push time can only be too low.  A lazy check at the top
    of the heap would then miss a unit that overtook it; instead every key is refreshed
    at dequeue and the heap rebuilt (QUEUE-2, QUEUE-7).  The push sequence number breaks
    ties, so the first queued among equals wins.  Callers hold the engine monitor."""

    def __init__(self) -> None:
        self._entries: list[tuple[int, int, Any]] = []
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Any]:
        return (unit for _key, _seq, unit in self._entries)

    def push(self, unit: Any) -> None:
        heapq.heappush(self._entries, (0, next(self._order), unit))

    def pop_hottest(self) -> tuple[Any | None, list[Any]]:
        """(the hottest live unit or None, units whose ISeq GC freed while queued)."""
        live, dead = [], []
        for _key, seq, unit in self._entries:
            if unit.iseq is None:
                dead.append(unit)
            else:
                live.append((-unit.iseq.body.total_calls, seq, unit))
        heapq.heapify(live)
        top = heapq.heappop(live)[2] if live else None
        self._entries = live
        return top, dead

    def clear(self) -> list[Any]:
        """Empty the queue and return what was in it."""
        units = [unit for _key, _seq, unit in self._entries]
        self._entries = []
        return units
