"""Freeing units, and unloading the least-called code when the cache is full."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_mjit import JitState

from . import _dl
from ._files import remove_file
from ._units import Unit, UnitList

if TYPE_CHECKING:
    from ._engine import Engine


def clean_object_files(engine: "Engine", unit: Unit) -> None:
    """Forget the unit's ``.o`` and remove it unless saved or inherited from the parent."""
    o_file, unit.o_file = unit.o_file, None
    if o_file and not engine.options.save_temps and not unit.o_file_inherited_p:
        remove_file(o_file, engine.log)


def free_unit(engine: "Engine", unit: Unit) -> None:
    """Release a unit: its ISeq (if alive) goes back to NOT_COMPILED, its handle is closed
    and its ``.o`` removed unless inherited (UNLOAD-4; C: ``free_unit``)."""
    if unit.iseq is not None:
        # UNLOAD-3: NOT_COMPILED, so the call path never queues it again.
        unit.iseq.body.jit_func = JitState.NOT_COMPILED
        unit.iseq.body.jit_unit = None
    if unit.handle is not None:
        handle, unit.handle = unit.handle, None
        if not _dl.dlclose(handle):
            engine.log.warning(f"failed to close handle for u{unit.id}: {_dl.dlerror()}")
    clean_object_files(engine, unit)


def free_list(engine: "Engine", units: UnitList, close_handle: bool) -> None:
    """Free every unit of ``units``; without ``close_handle`` the code stays mapped
    (FINISH-3)."""
    for unit in units.clear():
        if not close_handle:
            unit.handle = None
        free_unit(engine, unit)


def unload_units(engine: "Engine") -> None:
    """Make room in a full cache: drop units of freed ISeqs, then unload the unused units
    with the fewest calls down to ``max_cache_size - active/10`` (C: ``unload_units``).

    Main thread, called with the engine lock held."""
    active = engine.state.active_units
    units_num = active.length

    # UNLOAD-5: units whose ISeq is gone go first.
    for unit in active:
        if unit.iseq is None:
            active.remove(unit)
            free_unit(engine, unit)

    # UNLOAD-2: code with a frame on any thread's or continuation's stack stays.
    on_stack = {id(iseq) for iseq in engine.host.iseqs_on_stack()}
    for unit in active:
        unit.used_code_p = id(unit.iseq) in on_stack

    # UNLOAD-1: down to max_cache_size minus a tenth of the active units (counted after the
    # freed ones went), least-called first.
    delete_num = active.length // 10
    while active.length > engine.state.max_cache_size - delete_num:
        worst = None
        for unit in active:
            if unit.used_code_p:
                continue
            if worst is None or worst.iseq.body.total_calls > unit.iseq.body.total_calls:
                worst = unit
        if worst is None:
            break
        engine.log.verbose(
            2, f"Unloading unit {worst.id} (calls={worst.iseq.body.total_calls})")
        active.remove(worst)
        free_unit(engine, worst)

    if units_num == active.length and engine.options.wait:
        # UNLOAD-6: a waiting call could otherwise wait for a worker that never dequeues.
        engine.state.max_cache_size += 1
        engine.log.verbose(1, "No units can be unloaded -- incremented max-cache-size to "
                              f"{engine.state.max_cache_size} for --jit-wait")
    else:
        engine.log.verbose(1, f"Too many JIT code -- {units_num - active.length} units unloaded")
