"""The engine object: the client API the host calls on its main thread (C: mjit.c)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Iterable

from pytest_mjit import sync as threading  # the harness can schedule them
from pytest_mjit import CAPABILITIES, EngineStateError, JitState, is_compiled

from ._copyjob import request_copy
from ._files import choose_tmp_dir, pch_path, remove_owned
from ._log import Log
from ._state import STUCK_LIMIT, EngineStuck, PchState, State, Unit
from ._toolchain import Toolchain
from ._unload import unload_units
from ._worker import run_worker

__all__ = ["HeapEngine", "gcc_prelude"]


def gcc_prelude(pch_file) -> str:
    """The line that makes gcc use the PCH: gcc reads X.h.gch for `#include "X.h"` (PCH-2).

    gcc does not unescape `\\` or `\"` inside `#include "..."`, so a tmp path holding
    either cannot be spelled there.  Then the bare file name is included instead: a quoted
    include is looked up first in the directory of the .c, which is the PCH's own (PCH-7)."""
    header = str(pch_file)[:-len(".gch")]
    if any(c in header for c in '"\\\n'):
        header = pch_file.name[:-len(".gch")]
    return f'#include "{header}"\n'


class HeapEngine:
    """An MJIT engine written from PROTOCOL.md: a heap for the queue, one monitor for every
    wait, posix_spawn for the compiler, files deleted only by the process that made them."""

    name = "heapjit"
    version = "0.1.0"
    capabilities = CAPABILITIES

    def __init__(self, host, options) -> None:
        self.host = host
        self.options = options
        self.enabled = False
        self.call_p = False
        self.max_cache_size = options.max_cache_size    # grows in wait mode (UNLOAD-6)
        self.state = State()
        self.log = Log(options)
        self.toolchain = Toolchain(options)
        self.tmp_dir: Path | None = None
        self.pch_file: Path | None = None
        self.pch_owner = 0
        self.prelude = ""
        self._serials: frozenset[int] = frozenset()
        self._thread: threading.Thread | None = None
        self._finished = False

    # -- start and stop ------------------------------------------------------------------
    def init(self) -> None:
        """Choose the tmp dir, name the PCH after this process, start the worker."""
        if self.enabled or self._finished:
            return
        self.tmp_dir = tmp_dir = choose_tmp_dir(self.options.tmp_dir)
        self.pch_file = pch_path(tmp_dir)
        self.pch_owner = os.getpid()
        if self.toolchain.family == "gcc":
            self.prelude = gcc_prelude(self.pch_file)
        self.enabled = self.call_p = True
        self._start_worker()

    def _start_worker(self) -> None:
        with self.state.monitor:
            self.state.stopping = False
            self.state.worker_running = True
        self._thread = threading.Thread(target=run_worker, args=(self,),
                                        name="heapjit-worker", daemon=True)
        self._thread.start()

    def _worker_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _stop_worker(self) -> None:
        """Until the worker thread has ended: ask it to stop and run the host's interrupt
        check, never waiting with the monitor held (STOP-5, FAULT-1)."""
        end = time.monotonic() + STUCK_LIMIT
        thread = self._thread
        while thread is not None and thread.is_alive():
            if time.monotonic() > end:
                raise EngineStuck("heapjit: the worker did not stop")
            with self.state.monitor:
                self.state.stopping = True
                self.state.changed()
            self.host.check_ints()
            thread.join(0.002)

    def pause(self, wait: bool = True) -> bool:
        """Stop the worker, first letting it drain the queue when ``wait`` (STOP-2)."""
        if not self.enabled:
            raise EngineStateError("heapjit: pause on a disabled engine")
        if not self._worker_alive():
            return False
        if wait:
            end = time.monotonic() + STUCK_LIMIT
            while self._worker_alive() and time.monotonic() < end:
                with self.state.monitor:
                    if not (len(self.state.queue) and len(self.state.active) < self.max_cache_size):
                        break
                    self.state.changed()
                self.host.sleep(0.001)
        self._stop_worker()
        return True

    def resume(self) -> bool:
        """Start a worker again; False when one runs (STOP-3, STOP-4)."""
        if not self.enabled:
            raise EngineStateError("heapjit: resume on a disabled engine")
        if self._worker_alive():
            return False
        self._start_worker()
        return True

    def finish(self, close_handle: bool = True) -> None:
        """Stop the worker, delete this process's files, free every unit (FINISH-*)."""
        if self._finished:
            return
        self._finished = True
        state = self.state
        if self.enabled:
            with state.monitor:     # PCH-4: a build in progress ends first
                state.wait_until(lambda: state.pch is not PchState.BUILDING
                                 or not self._worker_alive(), "the PCH build")
        self._stop_worker()
        if self.pch_file is not None and not self.options.save_temps:
            remove_owned(self.pch_file, self.pch_owner)     # PCH-5, FORK-3
        self.call_p = False
        with state.monitor:
            units = state.all_units()
            state.queue.clear()
            state.active.clear()
            state.compacted.clear()
            state.stale.clear()
            for unit in units:
                if unit.iseq is not None:
                    unit.iseq.body.jit_unit = None
                    if unit.iseq.body.jit_func == JitState.NOT_READY or close_handle:
                        unit.iseq.body.jit_func = JitState.NOT_COMPILED
                unit.release(close_library=close_handle, keep_files=self.options.save_temps)
        was_enabled, self.enabled = self.enabled, False
        if was_enabled:
            self.log.verbose(1, "Successful MJIT finish")

    def child_after_fork(self) -> None:
        """In the child: units' files stay the parent's (their owner pid says so), one new
        worker starts (FORK-1, FORK-2)."""
        if not self.enabled:
            return
        self.state.after_fork()
        self._start_worker()

    # -- methods -------------------------------------------------------------------------
    def add_iseq_to_process(self, iseq, compile_info: Any = None) -> None:
        """Queue ``iseq``: NOT_READY first (QUEUE-1), unload if the cache is full."""
        if not self.enabled:
            return      # QUEUE-5
        iseq.body.jit_func = JitState.NOT_READY
        on_stack = list(self.host.iseqs_on_stack())
        with self.state.monitor:
            unit = Unit(self.state.take_id(), iseq, compile_info)
            iseq.body.jit_unit = unit
            self.state.queue.push(unit)
            if len(self.state.active) >= self.max_cache_size and "unload" in self.capabilities:
                unload_units(self, on_stack)
            self.state.changed()

    def wait(self, iseq) -> Any:
        """Block until ``iseq`` leaves NOT_READY, at most ``wait_timeout`` (WAIT-2, WAIT-3)."""
        end = time.monotonic() + self.options.wait_timeout
        state = self.state
        while iseq.body.jit_func == JitState.NOT_READY:
            with state.monitor:
                gave_up = state.pch is PchState.FAILED or not self.enabled
                if gave_up or time.monotonic() >= end:
                    iseq.body.jit_func = JitState.NOT_COMPILED
                    break
                state.changed()
                state.monitor.wait(0.001)
            self.host.check_ints()
        else:
            return iseq.body.jit_func
        self.log.warning("timed out to wait for JIT finish")
        return iseq.body.jit_func

    def recompile(self, iseq) -> None:
        """Retire the ISeq's code to the stale list and queue it again (RECOMPILE-1..3)."""
        if not self.enabled or not is_compiled(iseq.body.jit_func):
            return
        with self.state.monitor:
            old = iseq.body.jit_unit
            if old is not None and old.id in self.state.active \
                    and self.state.active[old.id] is old:
                del self.state.active[old.id]
                self.state.stale.append(old)
            iseq.body.jit_func = JitState.NOT_ADDED
            compile_info = old.compile_info if old is not None else None
        self.add_iseq_to_process(iseq, compile_info)
        if self.options.wait:
            self.wait(iseq)

    # -- GC ------------------------------------------------------------------------------
    def gc_start_hook(self) -> None:
        """Wait until no code is being generated, then hold the worker off (GC-1, GC-2)."""
        if not self.enabled:
            return
        with self.state.monitor:
            self.state.wait_until(lambda: not self.state.in_jit, "generate_code to end")
            self.state.in_gc = True

    def gc_exit_hook(self) -> None:
        if not self.enabled:
            return
        with self.state.monitor:
            self.state.in_gc = False
            self.state.changed()

    def free_iseq(self, iseq) -> None:
        """Forget ``iseq`` in the copy job, its unit and stale units (RECOMPILE-4); a
        disabled engine too, since its ``finish`` still frees the units it holds."""
        with self.state.monitor:
            job = self.state.job
            if job is not None and job.iseq is iseq:
                job.iseq = None
            unit = iseq.body.jit_unit
            if unit is not None:
                unit.iseq = None
            for old in self.state.stale:
                if old.iseq is iseq:
                    old.iseq = None

    def mark(self) -> Iterable[Any]:
        """The copy job's ISeq and every queued ISeq (GC-7)."""
        if not self.enabled:
            return []
        with self.state.monitor:
            job = self.state.job
            keep = [job.iseq] if job is not None and job.iseq is not None else []
            return keep + [u.iseq for u in self.state.queue if u.iseq is not None]

    # -- class serials: a frozenset replaced on change, so any thread may read it ----------
    def add_class_serial(self, serial: int) -> None:
        self._serials = self._serials | {serial}

    def remove_class_serial(self, serial: int) -> None:
        self._serials = self._serials - {serial}

    def valid_class_serial_p(self, serial: int) -> bool:
        return serial in self._serials

    # -- worker side ---------------------------------------------------------------------
    def copy_cache_from_main_thread(self, iseq, cc_entries: list, is_entries: list) -> bool:
        return request_copy(self, iseq, cc_entries, is_entries)

    def stats(self) -> dict[str, Any]:
        with self.state.monitor:
            facts = self.state.stats()
        facts.update(enabled=self.enabled, call_p=self.call_p,
                     worker_alive=self._worker_alive(), max_cache_size=self.max_cache_size,
                     tmp_dir=str(self.tmp_dir))
        return facts
