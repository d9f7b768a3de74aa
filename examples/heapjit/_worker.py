"""The worker thread: builds the PCH, then takes the hottest queued unit, converts it to a
function and publishes it, compacting when the queue drains."""

from __future__ import annotations

import os
import time

from pytest_mjit import JitFunc, JitState

from ._compact import compact_active_units, should_compact
from ._dl import Library
from ._files import create_source, remove_owned, unit_paths
from ._state import PchState, Unit

__all__ = ["run_worker"]


def run_worker(engine) -> None:
    """Thread body.  Ends when asked to stop or when the PCH cannot be built."""
    state = engine.state
    try:
        if _ensure_pch(engine):
            while (unit := _next_unit(engine)) is not None:
                result = _convert_safely(engine, unit)
                if _publish(engine, unit, result):
                    compact_active_units(engine)
    finally:
        with state.monitor:
            state.converting = None
            state.worker_running = False
            state.changed()


def _ensure_pch(engine) -> bool:
    """Build the PCH once per engine (PCH-1); on failure disable the engine (PCH-3)."""
    state = engine.state
    with state.monitor:
        if state.pch is PchState.READY:
            return True
        if state.pch is PchState.FAILED:
            return False
    built = engine.toolchain.run(engine.toolchain.pch_argv(engine.host.header_file,
                                                           engine.pch_file))
    with state.monitor:
        state.pch = PchState.READY if built else PchState.FAILED
        if not built:
            engine.enabled = False
        state.changed()
    if not built:
        remove_owned(engine.pch_file, engine.pch_owner)
        engine.log.warning("making the precompiled header failed; stopping the JIT worker")
    return built


def _next_unit(engine) -> Unit | None:
    """Wait for a unit to compile (QUEUE-6: none while the cache is full); None to stop."""
    state = engine.state
    with state.monitor:
        while True:
            while not state.stopping and not (
                    len(state.queue) and len(state.active) < engine.max_cache_size):
                state.monitor.wait(1.0)     # idle: woken by add_iseq_to_process or stop
            if state.stopping:
                return None
            unit, dead = state.queue.pop_hottest()
            for gone in dead:               # freed while queued: never compiled (QUEUE-3)
                gone.release(close_library=True, keep_files=False)
            if unit is not None:
                state.converting = unit
                return unit


def _convert_safely(engine, unit: Unit):
    """``_convert`` with any unexpected error turned into a failed unit."""
    try:
        return _convert(engine, unit)
    except Exception as exc:    # the engine must outlive any one unit (FAULT-3)
        engine.log.warning(f"unit {unit.id} failed: {type(exc).__name__}: {exc}")
        return JitState.NOT_COMPILED


def _enter_jit(engine, unit: Unit):
    """Wait for GC to end, then claim ``in_jit`` if the ISeq is still alive; its ISeq or
    None (GC-3; GC-5: the caller then removes the unit's .c)."""
    state = engine.state
    with state.monitor:
        state.wait_until(lambda: not state.in_gc, "GC to end before generate_code")
        iseq = unit.iseq
        state.in_jit = iseq is not None
        return iseq


def _leave_jit(engine) -> None:
    state = engine.state
    with state.monitor:
        state.in_jit = False    # on every way out of generation (GC-6)
        state.changed()


def _comment(iseq) -> str:
    loc = iseq.body.location
    text = f"{loc.label}@{loc.path}:{loc.first_lineno}"
    return "/* " + text.replace("*/", "* /").replace("\n", " ") + " */\n\n"


def _generate(engine, unit: Unit, source) -> bool:
    """Write the unit's C: the prelude, a comment naming the method, the generated code.
    On failure the .c is removed, unless it could not be created (it is not ours then).

    The .c is created before waiting for GC, as PROTOCOL.md 2.3 orders it: its appearance
    is how the harness sees that the worker took the unit."""
    try:
        out = create_source(source)     # COMPILE-3
    except OSError:
        return False
    ok = False
    with out:
        try:
            out.write(engine.prelude)
            iseq = _enter_jit(engine, unit)
            if iseq is not None:
                try:
                    # Safe to read: GC cannot free the ISeq while in_jit is held.
                    out.write(_comment(iseq))
                    ok = bool(engine.host.generate_code(out, iseq, f"_mjit{unit.id}",
                                                        unit.compile_info, engine))
                finally:
                    _leave_jit(engine)
        except OSError:
            ok = False
    if not ok and not engine.options.save_temps:
        remove_owned(source, unit.owner_pid)
    return ok


def _convert(engine, unit: Unit):
    """C: convert_unit_to_func.  A JitFunc, NOT_COMPILED, or None when the ISeq is gone."""
    paths = unit_paths(engine.tmp_dir, unit.id)
    unit.owner_pid = os.getpid()
    keep = engine.options.save_temps
    started = time.monotonic()
    if not _generate(engine, unit, paths.source):
        return None if unit.iseq is None else _failed(engine, unit)
    toolchain = engine.toolchain
    compiled = toolchain.run(toolchain.compile_argv(paths.source, paths.obj, engine.pch_file))
    if not keep:
        remove_owned(paths.source, unit.owner_pid)
    if not compiled:
        remove_owned(paths.obj, unit.owner_pid)
        return _failed(engine, unit)
    linked = toolchain.run(toolchain.link_argv([paths.obj], paths.library))
    library = None
    try:
        if linked:
            library = Library(paths.library)
            address = library.symbol(f"_mjit{unit.id}")     # LOAD-1
    except OSError:
        linked = False
    finally:
        if not keep:
            remove_owned(paths.library, unit.owner_pid)      # COMPILE-8
    if not linked:
        if library is not None:
            library.close()
        remove_owned(paths.obj, unit.owner_pid)
        return _failed(engine, unit)
    unit.library, unit.obj = library, paths.obj
    engine.log.verbose(1, f"JIT success ({(time.monotonic() - started) * 1000:.1f}ms): "
                          f"{_name(unit)} -> {paths.source}")
    return JitFunc(address, unit.id)


def _name(unit: Unit) -> str:
    iseq = unit.iseq
    return f"unit {unit.id}" if iseq is None else f"{iseq.name}"


def _failed(engine, unit: Unit):
    engine.log.verbose(1, f"JIT failure: {_name(unit)} (unit {unit.id})")
    return JitState.NOT_COMPILED


def _publish(engine, unit: Unit, result) -> bool:
    """Publish under the monitor, outside GC, only for a live ISeq (LOAD-2, GC-4); True when
    the active units now call for a compaction, whatever became of this unit (PROTOCOL 2.2)."""
    state = engine.state
    with state.monitor:
        state.wait_until(lambda: not state.in_gc, "GC to end before publishing")
        state.converting = None
        if unit.iseq is None or result is None:
            unit.release(close_library=True, keep_files=engine.options.save_temps)
        else:
            if isinstance(result, JitFunc):
                state.active[unit.id] = unit
            unit.iseq.body.jit_func = result
        state.changed()
        return should_compact(engine)
