"""Compaction: link every active unit's ``.o`` into one library and rebind the live ISeqs to
it (C: compact_all_jit_code).  The link runs outside the monitor."""

from __future__ import annotations

import os
import time

from pytest_mjit import JitFunc

from ._dl import Library
from ._files import remove_owned, unit_paths
from ._state import Unit

__all__ = ["should_compact", "compact_active_units"]


def should_compact(engine) -> bool:
    """Queue drained with several active units (not in wait mode), or the cache is full
    (COMPACT-1, COMPACT-6).  Monitor held."""
    state = engine.state
    if state.stopping or "compaction" not in engine.capabilities:
        return False
    drained = not engine.options.wait and len(state.queue) == 0 and len(state.active) > 1
    return drained or len(state.active) >= engine.max_cache_size


def compact_active_units(engine) -> None:
    """Worker.  A failed link or load changes nothing (COMPACT-3)."""
    state = engine.state
    with state.monitor:
        members = [u for u in state.active.values() if u.obj is not None]
        unit = Unit(state.take_id(), None, owner_pid=os.getpid())
    if len(members) < 2 and len(members) < engine.max_cache_size:
        return
    started = time.monotonic()
    library_path = unit_paths(engine.tmp_dir, unit.id).library
    toolchain = engine.toolchain
    library = None
    # Not holding the monitor across the link lets GC hooks and free_iseq return meanwhile;
    # units unloaded or recompiled during the link are skipped when rebinding below.
    if toolchain.run(toolchain.link_argv([u.obj for u in members], library_path)):
        try:
            library = Library(library_path)
        except OSError:
            library = None
    if not engine.options.save_temps:
        remove_owned(library_path, unit.owner_pid)
    if library is None:
        engine.log.verbose(1, f"JIT compaction failure: {len(members)} units stay as they are")
        return
    unit.library = library
    with state.monitor:
        state.wait_until(lambda: not state.in_gc, "GC to end before rebinding")
        state.compacted.append(unit)
        rebound = 0
        for member in members:
            if state.active.get(member.id) is not member or member.iseq is None:
                continue    # unloaded, recompiled or freed meanwhile (COMPACT-4)
            try:
                address = library.symbol(f"_mjit{member.id}")
            except OSError:
                engine.log.warning(f"skipping _mjit{member.id}: not in {library_path}")
                continue
            member.iseq.body.jit_func = JitFunc(address, member.id)
            rebound += 1
        state.changed()
    engine.log.verbose(1, f"JIT compaction ({(time.monotonic() - started) * 1000:.1f}ms): "
                          f"Compacted {rebound} methods -> {library_path}")
