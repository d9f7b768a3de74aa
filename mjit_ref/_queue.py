"""The queue of units waiting for compilation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._units import Unit, UnitList
from ._unload import free_unit

if TYPE_CHECKING:
    from ._engine import Engine


def get_from_list(engine: "Engine", units: UnitList) -> Unit | None:
    """Take the unit whose ISeq has the most calls now (the first among equals), freeing
    units whose ISeq GC freed on the way (C: ``get_from_list``).  Called with the lock held."""
    best = None
    for unit in units:
        if unit.iseq is None:
            # QUEUE-3: a freed ISeq is never compiled.
            units.remove(unit)
            free_unit(engine, unit)
            continue
        # QUEUE-2/QUEUE-7: priority is read at dequeue time, not at enqueue time.
        if best is None or best.iseq.body.total_calls < unit.iseq.body.total_calls:
            best = unit
    if best is not None:
        units.remove(best)
    return best
