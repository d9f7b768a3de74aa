"""Unloading: make room in a full cache by dropping the least-called code that no frame
runs (C: unload_units)."""

from __future__ import annotations

from pytest_mjit import JitState

__all__ = ["unload_units"]


def unload_units(engine, on_stack) -> None:
    """Main thread, monitor held; ``on_stack`` are the ISeqs with a frame anywhere."""
    state = engine.state
    keep = engine.options.save_temps
    for unit in [u for u in state.active.values() if u.iseq is None]:   # UNLOAD-5
        del state.active[unit.id]
        unit.release(close_library=True, keep_files=keep)
    running = {id(iseq) for iseq in on_stack}
    for unit in state.active.values():
        unit.used = id(unit.iseq) in running                             # UNLOAD-2
    before = len(state.active)
    delete_num = before // 10
    while len(state.active) > engine.max_cache_size - delete_num:
        idle = [u for u in state.active.values() if not u.used]
        if not idle:
            break
        victim = min(idle, key=lambda u: u.iseq.body.total_calls)       # UNLOAD-1
        del state.active[victim.id]
        victim.iseq.body.jit_func = JitState.NOT_COMPILED                # UNLOAD-3
        victim.iseq.body.jit_unit = None
        victim.release(close_library=True, keep_files=keep)              # UNLOAD-4
    if len(state.active) == before and engine.options.wait:
        engine.max_cache_size += 1                                       # UNLOAD-6
        engine.log.verbose(1, "No units can be unloaded -- incremented max-cache-size to "
                              f"{engine.max_cache_size} for wait mode")
    else:
        engine.log.verbose(1, f"Too many JIT code -- {before - len(state.active)} units unloaded")
