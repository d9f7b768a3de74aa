"""Units (one per compilation of an ISeq) and the lists that hold them."""

from __future__ import annotations

import dataclasses
from typing import Any, Iterator


@dataclasses.dataclass(eq=False)
class Unit:
    """What the engine knows about one compilation (C: ``struct rb_mjit_unit``).

    ``iseq`` is None once GC freed the ISeq; ``handle`` is the dlopen handle once loaded;
    ``o_file`` is kept for compaction and removed when the unit is freed."""

    id: int
    iseq: Any = None
    compile_info: Any = None
    handle: int | None = None
    o_file: str | None = None
    o_file_inherited_p: bool = False
    used_code_p: bool = False

    def __repr__(self) -> str:
        alive = "freed" if self.iseq is None else "alive"
        return f"<Unit u{self.id} {alive} handle={'yes' if self.handle else 'no'}>"


class UnitList:
    """An ordered list of units with its length (C: ``struct rb_mjit_unit_list``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._units: list[Unit] = []

    @property
    def length(self) -> int:
        return len(self._units)

    def add(self, unit: Unit) -> None:
        """Append ``unit`` at the tail."""
        self._units.append(unit)

    def remove(self, unit: Unit) -> None:
        """Take ``unit`` out of the list (it must be in it)."""
        for i, u in enumerate(self._units):
            if u is unit:
                del self._units[i]
                return
        raise ValueError(f"{unit!r} is not in {self.name}")

    def __contains__(self, unit: object) -> bool:
        return any(u is unit for u in self._units)

    def __iter__(self) -> Iterator[Unit]:
        # A snapshot, so that callers may remove units while walking.
        return iter(list(self._units))

    def __len__(self) -> int:
        return len(self._units)

    def clear(self) -> list[Unit]:
        """Empty the list and return what it held."""
        units, self._units = self._units, []
        return units

    def __repr__(self) -> str:
        return f"<UnitList {self.name} length={self.length}>"
