"""The reference engine: its configuration and the client API."""

from __future__ import annotations

import time
from typing import Any, Iterable, Mapping

from pytest_mjit import CAPABILITIES, JitState, Options, is_compiled

from . import _lifecycle
from ._copyjob import copy_cache_from_main_thread
from ._files import pch_filename, system_tmpdir
from ._log import Log
from ._pch import PchStatus
from ._toolchain import Toolchain
from ._state import State
from ._units import Unit
from ._unload import unload_units

VERSION = "0.1.0"


class Engine:
    """A Python model of CRuby 2.7's MJIT (mjit.c and mjit_worker.c).

    What changes after construction lives in ``state`` (``_state.State``, which says what
    guards each field).  Client methods are called from the host's main thread only."""

    name = "ref"
    version = VERSION
    capabilities = frozenset(CAPABILITIES)

    def __init__(self, host: Any, options: Options) -> None:
        self.host = host
        self.options = options
        self.log = Log(options.verbose, options.warnings)
        self.toolchain = Toolchain(options.cc, options.cc_family, options.debug,
                                   options.debug_flags, self.log)
        self.tmp_dir = options.tmp_dir or system_tmpdir()
        self.pch_file = pch_filename(self.tmp_dir)
        # OPT-1: the options arrive normalised (max_cache_size >= 10); keep to them.
        self.state = State(max_cache_size=options.max_cache_size)

    @property
    def enabled(self) -> bool:
        """Whether the engine runs (C: ``mjit_enabled``); the host reads it."""
        return self.state.enabled

    @property
    def call_p(self) -> bool:
        """Whether compiled code may be called (C: ``mjit_call_p``); the host reads it."""
        return self.state.call_p

    # -- life cycle ----------------------------------------------------------------------

    def init(self) -> None:
        _lifecycle.init(self)

    def pause(self, wait: bool = True) -> bool:
        return _lifecycle.pause(self, wait)

    def resume(self) -> bool:
        return _lifecycle.resume(self)

    def finish(self, close_handle: bool = True) -> None:
        _lifecycle.finish(self, close_handle)

    def child_after_fork(self) -> None:
        _lifecycle.child_after_fork(self)

    # -- queue ---------------------------------------------------------------------------

    def add_iseq_to_process(self, iseq: Any, compile_info: Any = None) -> None:
        """Queue ``iseq`` for compilation (C: ``mjit_add_iseq_to_process``)."""
        if not self.state.enabled or self.state.pch_status is PchStatus.FAILED:
            return  # QUEUE-5
        iseq.body.jit_func = JitState.NOT_READY  # QUEUE-1
        with self.state.lock:
            unit = Unit(id=self.state.next_unit_id(), iseq=iseq, compile_info=compile_info)
            iseq.body.jit_unit = unit
            self.state.unit_queue.add(unit)
            if self.state.active_units.length >= self.state.max_cache_size:
                unload_units(self)
            self.log.verbose(3, "Sending wakeup signal to workers in mjit_add_iseq_to_process")
            self.state.worker_wakeup.notify_all()

    def wait(self, iseq: Any) -> Any:
        """Wait until ``iseq`` is no longer NOT_READY, at most ``wait_timeout`` seconds
        (C: ``mjit_wait``), so that the call in wait mode runs the compiled code (WAIT-1).
        Returns its ``jit_func``."""
        body = iseq.body
        deadline = time.monotonic() + self.options.wait_timeout
        while body.jit_func == JitState.NOT_READY:
            if time.monotonic() > deadline or self.state.pch_status is PchStatus.FAILED:
                with self.state.lock:
                    body.jit_func = JitState.NOT_COMPILED  # WAIT-2/WAIT-3
                self.log.warning("timed out to wait for JIT finish")
                break
            with self.state.lock:
                self.state.worker_wakeup.notify_all()
            self.host.sleep(0.001)
        return body.jit_func

    def recompile(self, iseq: Any) -> None:
        """Throw away the ISeq's code and compile it again, as a new unit with a new id
        (RECOMPILE-1; C: ``mjit_recompile``)."""
        if not self.state.enabled or not is_compiled(iseq.body.jit_func):
            return  # RECOMPILE-3
        loc = iseq.body.location
        self.log.verbose(1, f"JIT recompile: {loc.label}@{loc.path}:{loc.first_lineno}")
        with self.state.lock:
            unit = iseq.body.jit_unit
            if unit is not None and unit in self.state.active_units:
                self.state.active_units.remove(unit)
                # RECOMPILE-2: its code stays loaded until finish.
                self.state.stale_units.add(unit)
            iseq.body.jit_func = JitState.NOT_ADDED
        self.add_iseq_to_process(iseq, unit.compile_info if unit is not None else None)
        if self.options.wait:
            self.wait(iseq)

    # -- GC ------------------------------------------------------------------------------

    def gc_start_hook(self) -> None:
        """Wait for code generation to pause, then enter GC (C: ``mjit_gc_start_hook``)."""
        if not self.state.enabled:
            return
        with self.state.lock:
            while self.state.in_jit:  # GC-2
                self.log.verbose(4, "Waiting wakeup from a worker for GC")
                self.state.client_wakeup.wait()
            self.state.in_gc = True

    def gc_exit_hook(self) -> None:
        """Leave GC and wake the worker (C: ``mjit_gc_exit_hook``)."""
        if not self.state.enabled:
            return
        with self.state.lock:
            self.state.in_gc = False
            self.log.verbose(4, "Sending wakeup signal to workers after GC")
            self.state.gc_wakeup.notify_all()

    def free_iseq(self, iseq: Any) -> None:
        """Forget a freed ISeq in the copy job, its unit and stale units (C: ``mjit_free_iseq``)."""
        if not self.state.enabled:
            return
        with self.state.lock:
            if self.state.copy_job.iseq is iseq:
                self.state.copy_job.iseq = None
            unit = iseq.body.jit_unit
            if unit is not None:
                unit.iseq = None
            for stale in self.state.stale_units:  # RECOMPILE-4
                if stale.iseq is iseq:
                    stale.iseq = None

    def mark(self) -> Iterable[Any]:
        """The copy job's ISeq and the queued ISeqs (C: ``mjit_mark``, GC-7)."""
        if not self.state.enabled:
            return []
        with self.state.lock:
            keep = [self.state.copy_job.iseq] if self.state.copy_job.iseq is not None else []
            keep.extend(u.iseq for u in self.state.unit_queue if u.iseq is not None)
        return keep

    # -- worker services -----------------------------------------------------------------

    def copy_cache_from_main_thread(self, iseq: Any, cc_entries: list, is_entries: list) -> bool:
        return copy_cache_from_main_thread(self, iseq, cc_entries, is_entries)

    def add_class_serial(self, serial: int) -> None:
        # Not gated on `enabled` like the C: the host registers its classes on attach,
        # before init (where the C's mjit_init adds the root classes itself).
        with self.state.lock:
            self.state.valid_class_serials.add(serial)

    def remove_class_serial(self, serial: int) -> None:
        with self.state.lock:
            self.state.valid_class_serials.discard(serial)

    def valid_class_serial_p(self, serial: int) -> bool:
        """True if ``serial`` was added and not removed (SERIAL-1); any thread."""
        with self.state.lock:
            return serial in self.state.valid_class_serials

    # -- reports -------------------------------------------------------------------------

    def stats(self) -> Mapping[str, Any]:
        """List lengths, PCH status and worker state, for reports."""
        with self.state.lock:
            return {
                "unit_queue": self.state.unit_queue.length,
                "active_units": self.state.active_units.length,
                "compact_units": self.state.compact_units.length,
                "stale_units": self.state.stale_units.length,
                "current_unit_num": self.state.current_unit_num,
                "pch_status": self.state.pch_status.value,
                "pch_file": self.pch_file,
                "tmp_dir": self.tmp_dir,
                "in_gc": self.state.in_gc,
                "in_jit": self.state.in_jit,
                "stop_worker_p": self.state.stop_worker_p,
                "worker_stopped": self.state.worker_stopped,
                "max_cache_size": self.state.max_cache_size,
                "enabled": self.state.enabled,
                "call_p": self.state.call_p,
            }

    def __repr__(self) -> str:
        return (f"<mjit_ref.Engine enabled={self.state.enabled} pch={self.state.pch_status.value} "
                f"queue={self.state.unit_queue.length} active={self.state.active_units.length}>")
