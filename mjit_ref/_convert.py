"""Turning one unit into loaded machine code (C: ``convert_unit_to_func``)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pytest_mjit import JitFunc, JitState

from . import _dl
from ._files import open_exclusive, remove_file, remove_if_exists, unit_filename
from ._pch import compile_prelude
from ._units import Unit

if TYPE_CHECKING:
    from ._engine import Engine

NOT_COMPILED = JitState.NOT_COMPILED


def funcname_of(unit_id: int) -> str:
    """The symbol of a unit's function (QUEUE-4)."""
    return f"_mjit{unit_id}"


def _location(iseq: Any) -> tuple[str, str, int]:
    loc = iseq.body.location
    return str(loc.label), str(loc.path), int(loc.first_lineno)


def _generate(engine: "Engine", unit: Unit, out: Any, funcname: str) -> tuple[bool, str]:
    """Write the comment line and the code while ``in_jit`` is held; release it on every
    path.  Returns (success, "label@path:line")."""
    iseq = unit.iseq
    where = f"u{unit.id}"
    try:
        try:
            # Read while in_jit keeps GC away (the C copies them for GC.compact's sake).
            label, path, lineno = _location(iseq)
            where = f"{label}@{path}:{lineno}"
            engine.log.verbose(2, f"start compilation: {where} -> {out.name}")
            out.write(f"/* {where} */\n\n")
            # COMPILE-1: the host writes the method's code; the engine compiles it unchanged.
            ok = bool(engine.host.generate_code(out, iseq, funcname, unit.compile_info, engine))
        except Exception as exc:
            engine.log.warning(f"code generation of {where} raised {exc!r}")
            ok = False
        return ok, where
    finally:
        # GC-6: in_jit is released on every path, so a waiting gc_start_hook returns.
        with engine.state.lock:
            engine.state.in_jit = False
            engine.state.client_wakeup.notify_all()


def _discard_outputs(engine: "Engine", unit: Unit, o_file: str, so_file: str) -> None:
    """After a failed compile, link or load: close the handle and drop the unit's files."""
    if unit.handle is not None:
        handle, unit.handle = unit.handle, None
        _dl.dlclose(handle)
    unit.o_file = None
    if not engine.options.save_temps:
        remove_if_exists(o_file)
        remove_if_exists(so_file)


def load_func_from_so(engine: "Engine", so_file: str, funcname: str, unit: Unit) -> int | None:
    """dlopen ``so_file`` (RTLD_NOW) into ``unit.handle`` and return the address of
    ``funcname``, or None (C: ``load_func_from_so``)."""
    handle = _dl.dlopen(so_file, _dl.RTLD_NOW)
    if handle is None:
        engine.log.warning(f"failure in loading code from '{so_file}': {_dl.dlerror()}")
        return None
    unit.handle = handle
    return _dl.dlsym(handle, funcname)


def convert_unit_to_func(engine: "Engine", unit: Unit) -> JitFunc | JitState:
    """Generate, compile, link and load the unit's code.  Returns the function, or
    NOT_COMPILED on any failure (worker thread)."""
    tmp, opts, log = engine.tmp_dir, engine.options, engine.log
    c_file = unit_filename(tmp, unit.id, ".c")
    o_file = unit_filename(tmp, unit.id, ".o")
    so_file = unit_filename(tmp, unit.id, ".so")
    funcname = funcname_of(unit.id)

    try:
        # COMPILE-3: exclusive, 0600, never through a symlink.
        out = open_exclusive(c_file)
    except OSError as exc:
        # FAULT-3: an unwritable tmp dir fails the unit cleanly.
        log.verbose(1, f"Failed to fopen '{c_file}', giving up JIT for it ({exc.strerror})")
        return NOT_COMPILED

    with out:
        try:
            out.write(compile_prelude(engine.pch_file, engine.toolchain.uses_include_pch))
        except OSError as exc:
            log.verbose(1, f"Failed to write '{c_file}', giving up JIT for it ({exc.strerror})")
            started = False
        else:
            with engine.state.lock:
                # GC-3: wait until gc_exit_hook.
                while engine.state.in_gc:
                    log.verbose(3, "Waiting wakeup from GC")
                    engine.state.gc_wakeup.wait()
                # GC-5: the ISeq may have been freed while we waited.
                started = unit.iseq is not None
                engine.state.in_jit = started
        if not started:
            out.close()
            if not opts.save_temps:
                remove_file(c_file, log)
            return NOT_COMPILED
        success, where = _generate(engine, unit, out, funcname)
    if not success:
        if not opts.save_temps:
            remove_file(c_file, log)
        log.verbose(1, f"JIT failure: {where} -> {c_file}")
        return NOT_COMPILED

    # FAULT-1: the compiler runs without the engine lock, so GC hooks and free_iseq return
    # while it works.
    start = time.monotonic()
    success = engine.toolchain.compile_c_to_o(c_file, o_file, engine.pch_file)
    if success:
        success = engine.toolchain.link_o_to_so([o_file], so_file)
        # COMPACT-5: kept for compaction; removed when the unit is freed.
        unit.o_file = o_file
    elapsed_ms = (time.monotonic() - start) * 1000.0

    # COMPILE-8/OPT-5: the .c goes once compiled and the .so once loaded, unless save_temps.
    if not opts.save_temps:
        remove_file(c_file, log)
    if not success:
        log.verbose(2, f"Failed to generate so: {so_file}")
        # COMPILE-4: nothing of a failed unit stays (the C keeps its .o for good).
        _discard_outputs(engine, unit, o_file, so_file)
        return NOT_COMPILED

    address = load_func_from_so(engine, so_file, funcname, unit)
    if not opts.save_temps:
        remove_file(so_file, log)
    if address is None:
        if unit.handle is not None:
            log.warning(f"failure in loading '{funcname}' from '{so_file}': {_dl.dlerror()}")
        # LOAD-1: a failed dlopen or a missing symbol is NOT_COMPILED.
        _discard_outputs(engine, unit, o_file, so_file)
        return NOT_COMPILED

    log.verbose(1, f"JIT success ({elapsed_ms:.1f}ms): {where} -> {c_file}")
    return JitFunc(address, unit.id)
