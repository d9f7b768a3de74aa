"""Compaction: linking every active unit's ``.o`` into one ``.so`` and rebinding to it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pytest_mjit import JitFunc

from . import _dl
from ._convert import funcname_of
from ._files import remove_file, remove_if_exists, unit_filename
from ._units import Unit

if TYPE_CHECKING:
    from ._engine import Engine


def compact_all_jit_code(engine: "Engine") -> bool:
    """Link all active units into one library and point every live ISeq at it; on any
    failure keep the old code (C: ``compact_all_jit_code``).  True when compacted."""
    log, save_temps = engine.log, engine.options.save_temps
    with engine.state.lock:
        # A unit without ISeq, only to own the library; it takes the next id.
        unit = Unit(id=engine.state.next_unit_id())
    so_file = unit_filename(engine.tmp_dir, unit.id, ".so")

    # Like the C, the lock is held across the link so that no .o disappears under it
    # (unload_units runs under the same lock).  The C marks this as a known TODO.
    with engine.state.lock:
        o_files = [u.o_file for u in engine.state.active_units if u.o_file]
        start = time.monotonic()
        success = engine.toolchain.link_o_to_so(o_files, so_file)
        elapsed_ms = (time.monotonic() - start) * 1000.0

    if not success:
        if not save_temps:
            remove_if_exists(so_file)
        # COMPACT-3: every jit_func stays as it was.
        log.verbose(1, f"JIT compaction failure ({elapsed_ms:.1f}ms): Failed to compact methods")
        return False

    handle = _dl.dlopen(so_file, _dl.RTLD_NOW)
    if handle is None:
        log.warning(f"failure in loading code from compacted '{so_file}': {_dl.dlerror()}")
        if not save_temps:
            remove_file(so_file, log)
        return False
    unit.handle = handle
    if not save_temps:
        remove_file(so_file, log)

    with engine.state.lock:
        # Closed by finish (free_list of compact_units).
        engine.state.compact_units.add(unit)
        count = engine.state.active_units.length
        for cur in engine.state.active_units:
            # COMPACT-2: each unit's own symbol in the compacted library, same code.
            funcname = funcname_of(cur.id)
            address = _dl.dlsym(handle, funcname)
            if address is None:
                log.warning(f"skipping to reload '{funcname}' from '{so_file}': {_dl.dlerror()}")
                continue
            # COMPACT-4: an ISeq freed meanwhile is not resurrected.
            if cur.iseq is not None:
                cur.iseq.body.jit_func = JitFunc(address, cur.id)
    log.verbose(1, f"JIT compaction ({elapsed_ms:.1f}ms): Compacted {count} methods -> {so_file}")
    return True
