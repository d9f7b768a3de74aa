"""``CEngine``: a C engine library (``pytest_mjit_engine.h``) as an object that meets the Python
``Engine`` contract, so fixtures, the conformance suite and the protocol machines run it
unchanged."""

from __future__ import annotations

import ctypes
import shutil
from typing import Any, Iterable, Mapping

from ..contract import CAPABILITIES
from .._errors import EngineStateError, MjitError
from .._options import Options
from ..host._cbody import CCallCache, CInlineStorage
from ._abi import ABORT, ERROR, OK, COptions, EngineInfo, load_private_copy
from ._services import Services

__all__ = ["CEngine"]

#: Seconds ``finish`` of an abandoned engine waits for its threads to unwind.
UNWIND_TIMEOUT = 5.0


def _c_options(options: Options) -> tuple[COptions, list[Any]]:
    keep: list[Any] = [opt.encode() for opt in options.debug_flags]
    flags = (ctypes.c_char_p * (len(keep) + 1))(*keep, None)
    cc = (shutil.which(options.cc) or options.cc).encode()
    tmp = options.tmp_dir.encode() if options.tmp_dir is not None else None
    keep += [flags, cc, tmp]
    c = COptions(wait=options.wait, save_temps=options.save_temps, warnings=options.warnings,
                 debug=options.debug, verbose=options.verbose, min_calls=options.min_calls,
                 max_cache_size=options.max_cache_size,
                 cc_is_clang=options.cc_family == "clang", wait_timeout=options.wait_timeout,
                 cc=cc, debug_flags=flags, tmp_dir=tmp)
    return c, keep


class CEngine:
    """One instance of the C engine in ``library`` (a private copy of it) serving ``host``."""

    def __init__(self, library: str, host: Any, options: Options) -> None:
        self.host = host
        self.options = options
        self._lib = load_private_copy(library)
        if self._lib.pmj_engine_abi() != 1:
            raise MjitError(f"C engine {library}: ABI {self._lib.pmj_engine_abi()}, the host "
                            "speaks ABI 1")
        self._abandon_reason: BaseException | None = None
        self._c_opts, self._keep = _c_options(options)
        self._services = Services(self, host.header_file, self._c_opts)
        self._iseqs: dict[int, Any] = {}
        self._observed: dict[int, tuple[list, list]] = {}
        self.marked: list[Any] = []
        info = EngineInfo()
        self._check(self._lib.pmj_engine_create(ctypes.byref(self._services.table),
                                                ctypes.byref(info)), "create")
        self.name = (info.name or b"?").decode(errors="replace")
        self.version = (info.version or b"?").decode(errors="replace")
        caps = frozenset((info.capabilities or b"").decode(errors="replace").split())
        if not caps <= CAPABILITIES:
            raise MjitError(f"C engine {library}: unknown capabilities "
                            f"{', '.join(sorted(caps - CAPABILITIES))}")
        self.capabilities = caps

    # -- abandoning -----------------------------------------------------------------------

    @property
    def abandoned(self) -> bool:
        """True once the harness gave up on the engine (every service then returns ABORT)."""
        return self._abandon_reason is not None

    def abandon(self, reason: BaseException) -> None:
        if self._abandon_reason is None:
            self._abandon_reason = reason

    def raise_if_abandoned(self) -> None:
        reason = self._abandon_reason
        if reason is not None:
            raise reason

    def _check(self, rc: int, what: str) -> None:
        if rc == OK:
            return
        if rc == ERROR:
            raise EngineStateError(self._lib.pmj_last_error().decode(errors="replace"))
        if rc == ABORT:
            self.raise_if_abandoned()
            raise MjitError(f"the C engine gave up in {what}")
        raise MjitError(f"the C engine returned {rc} from {what}")

    def _call(self, what: str, *args: Any) -> None:
        if self.abandoned:
            raise MjitError(f"the C engine was abandoned ({self._abandon_reason!r}); "
                            f"{what} not called")
        self._check(getattr(self._lib, "pmj_" + what)(*args), what)

    # -- ISeqs ------------------------------------------------------------------------------

    def _handle(self, iseq: Any) -> int:
        address = iseq.c_address
        self._iseqs[address] = iseq
        return address

    def iseq_at(self, address: int) -> Any:
        """The ISeq whose ``struct pmj_iseq`` is at ``address``."""
        iseq = self._iseqs.get(address)
        if iseq is None:
            for candidate in self.host.iseqs:
                self._iseqs[candidate.c_address] = candidate
            iseq = self._iseqs.get(address)
        if iseq is None:
            raise MjitError(f"the C engine passed 0x{address:x}, which is no ISeq of this host")
        return iseq


    def observe_copy(self, address: int) -> tuple[list, list] | None:
        """The main thread copies ``address``'s caches for the worker (the copy job)."""
        iseq = self.iseq_at(address)
        cc: list = [None] * iseq._ncalls
        is_: list = [None] * iseq._nconsts
        self.host.copy_caches(iseq, cc, is_)
        if any(e is None for e in cc + is_):
            return None
        self._observed[address] = (cc, is_)
        return cc, is_

    # -- the Engine contract ----------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        return bool(self._lib.pmj_enabled())

    @property
    def call_p(self) -> bool:
        return bool(self._lib.pmj_call_p())

    def init(self) -> None:
        self._call("init")

    def add_iseq_to_process(self, iseq: Any, compile_info: Any = None) -> None:
        self._call("add_iseq_to_process", self._handle(iseq))

    def wait(self, iseq: Any) -> Any:
        self._call("wait", self._handle(iseq))
        return iseq.body.jit_func

    def recompile(self, iseq: Any) -> None:
        self._call("recompile", self._handle(iseq))

    def gc_start_hook(self) -> None:
        self._call("gc_start_hook")

    def gc_exit_hook(self) -> None:
        self._call("gc_exit_hook")

    def free_iseq(self, iseq: Any) -> None:
        self._call("free_iseq", self._handle(iseq))

    def mark(self) -> Iterable[Any]:
        self.marked = []
        self._call("mark")
        return list(self.marked)

    def pause(self, wait: bool = True) -> bool:
        changed = ctypes.c_int()
        self._call("pause", int(bool(wait)), ctypes.byref(changed))
        return bool(changed.value)

    def resume(self) -> bool:
        changed = ctypes.c_int()
        self._call("resume", ctypes.byref(changed))
        return bool(changed.value)

    def finish(self, close_handle: bool = True) -> None:
        if self.abandoned:
            # The engine unwinds on its own; give its threads a bounded moment to end.
            for thread in self._services.threads:
                thread.join(UNWIND_TIMEOUT)
            return
        self._call("finish", int(bool(close_handle)))

    def child_after_fork(self) -> None:
        self._call("child_after_fork")

    def add_class_serial(self, serial: int) -> None:
        self._call("add_class_serial", serial)

    def remove_class_serial(self, serial: int) -> None:
        self._call("remove_class_serial", serial)

    def valid_class_serial_p(self, serial: int) -> bool:
        valid = ctypes.c_int()
        self._call("valid_class_serial_p", serial, ctypes.byref(valid))
        return bool(valid.value)

    def copy_cache_from_main_thread(self, iseq: Any, cc_entries: list, is_entries: list) -> bool:
        """Worker side, from inside ``host.generate_code``: the engine's copy job, then the
        copied buffers checked against what the main thread saw."""
        address = self._handle(iseq)
        ncalls, nconsts = len(cc_entries), len(is_entries)
        cc_buf = (CCallCache * max(1, ncalls))()
        is_buf = (CInlineStorage * max(1, nconsts))()
        ok = ctypes.c_int()
        self._observed.pop(address, None)
        self._call("copy_cache_from_main_thread", address, cc_buf, is_buf, ctypes.byref(ok))
        seen = self._observed.pop(address, None)
        if not ok.value:
            return False
        if seen is None:
            # Not copied by a postponed job on the main thread: the worker read the caches
            # itself, which is right only while the main thread waits (COPYJOB-7).
            seen = ([None] * ncalls, [None] * nconsts)
            self.host.copy_caches(iseq, *seen)
        cc, is_ = seen
        copied_cc = [(cc_buf[i].callee_id, cc_buf[i].class_serial) for i in range(ncalls)]
        copied_is = [is_buf[i].value for i in range(nconsts)]
        if (copied_cc != [(e.callee_id, e.class_serial) for e in cc if e is not None]
                or copied_is != [e.value for e in is_ if e is not None]):
            self.host._violation(f"the engine's copy of the caches of {iseq.name!r} differs "
                                 "from the caches the main thread had when it copied", iseq)
            return False
        cc_entries[:] = cc
        is_entries[:] = is_
        return True

    def stats(self) -> Mapping[str, Any]:
        buf = ctypes.create_string_buffer(2048)
        self._lib.pmj_stats(buf, len(buf))
        stats: dict[str, Any] = {}
        for line in buf.value.decode(errors="replace").splitlines():
            key, _, value = line.partition("=")
            stats[key] = int(value) if value.lstrip("-").isdigit() else value
        stats["threads"] = [t.name for t in self._services.threads if t.is_alive()]
        if self._abandon_reason is not None:
            stats["abandoned"] = f"{type(self._abandon_reason).__name__}"
        return stats

    def __repr__(self) -> str:
        return f"<CEngine {self.name} {self.version}>"

