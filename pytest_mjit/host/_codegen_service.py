"""``generate_code`` and ``copy_caches``: the two host services around the C generator."""

from __future__ import annotations

from typing import IO, Any, Callable

from .._errors import MjitError
from ._activity import Activity
from ._bytecode import ISeq
from ._cgen import C_IDENTIFIER, emit_unit
from ._events import EventLog
from ._gates import GatePoints
from ._snapshot import CachedCall, CachedConst, FrozenMethod, take_snapshot

__all__ = ["CodegenService"]


class CodegenService:
    """The services an engine's threads call while compiling; records into ``log``, passes
    ``gates`` and reports protocol violations through ``violation``."""

    def __init__(self, activity: Activity, log: EventLog, gates: GatePoints,
                 violation: Callable[..., None]) -> None:
        self._activity = activity
        self._log = log
        self._gates = gates
        self._violation = violation

    def generate_code(self, out: IO[str], iseq: ISeq, funcname: str, engine: Any) -> bool:
        """Write ``int64_t funcname(int64_t *args)`` for ``iseq`` to ``out``; False on failure.

        Logs ``generate_code:enter``/``exit``, records a violation when entered during GC, and
        passes the gates of the same names."""
        if not isinstance(funcname, str) or not C_IDENTIFIER.match(funcname):
            raise MjitError(f"generate_code: funcname must be a C identifier, got {funcname!r}")
        self._log.record("generate_code:enter", iseq.id)
        ok = False
        try:
            with self._activity.generating() as in_gc:
                if in_gc:
                    self._violation("generate_code entered while the host is in GC "
                                    "(between gc_start_hook and gc_exit_hook)", iseq)
                self._gates.pass_point("generate_code:enter", iseq)
                ok = self._generate(out, iseq, funcname, engine)
                self._gates.pass_point("generate_code:exit", iseq)
        finally:
            self._log.record("generate_code:exit", iseq.id, "ok" if ok else "failed")
        return ok

    def _generate(self, out: IO[str], iseq: ISeq, funcname: str, engine: Any) -> bool:
        if iseq.freed:
            self._violation(f"generate_code for ISeq {iseq.name!r} after GC freed it", iseq)
            return False
        ncalls, nconsts = iseq._ncalls, iseq._nconsts
        cc_entries: list = [None] * ncalls
        is_entries: list = [None] * nconsts
        if ncalls or nconsts:
            with self._activity.copy_wait():
                copied = engine.copy_cache_from_main_thread(iseq, cc_entries, is_entries)
            if not copied:
                return False
            if not (all(isinstance(e, CachedCall) for e in cc_entries)
                    and all(isinstance(e, CachedConst) for e in is_entries)):
                self._violation("copy_cache_from_main_thread returned True without the buffers "
                                "filled by host.copy_caches", iseq)
                return False
        methods: dict[int, FrozenMethod] = dict(cc_entries[0].snapshot.methods) if ncalls else {}
        methods[iseq.id] = FrozenMethod(
            iseq_id=iseq.id, name=iseq.name, argc=iseq.argc, nlocals=iseq.nlocals, code=iseq.code,
            depths=iseq._depths,
            calls=tuple((e.callee_id, e.class_serial) for e in cc_entries),
            consts=tuple(e.value for e in is_entries),
        )
        serials = {serial for m in methods.values() for _, serial in m.calls}
        for serial in sorted(serials):
            if not engine.valid_class_serial_p(serial):
                return False
        try:
            emit_unit(out, funcname, iseq.id, methods)
        except OSError:
            return False
        return True

    def copy_caches(self, iseq: ISeq, cc_entries: list, is_entries: list, on_main: bool) -> None:
        """Fill the worker's buffers with frozen copies of ``iseq``'s caches (and, through the
        shared snapshot, of every method they reach).  ``on_main``: the caller acts for the
        main thread, the only one allowed to."""
        if not on_main:
            self._violation(f"copy_caches for ISeq {iseq.name!r} called off the main thread", iseq)
        self._gates.pass_point("copy_caches", iseq)
        self._log.record("copy_caches", iseq.id)
        if iseq.freed:
            self._violation(f"copy_caches for ISeq {iseq.name!r} after GC freed it", iseq)
            return
        if not isinstance(cc_entries, list) or len(cc_entries) != iseq._ncalls:
            raise MjitError(f"copy_caches: cc_entries must be a list of {iseq._ncalls} entries")
        if not isinstance(is_entries, list) or len(is_entries) != iseq._nconsts:
            raise MjitError(f"copy_caches: is_entries must be a list of {iseq._nconsts} entries")
        snapshot = take_snapshot(iseq)
        for c, cache in enumerate(iseq._call_caches):
            cc_entries[c] = CachedCall(cache.callee.id, cache.class_serial, snapshot)
        for s, entry in enumerate(iseq._inline_storage):
            is_entries[s] = CachedConst(entry.name, entry.value)
