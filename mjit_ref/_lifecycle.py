"""Starting, stopping, pausing, resuming and finishing the engine, and fork."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from pytest_mjit import sync as threading  # the harness can schedule them
from pytest_mjit import EngineStateError

from ._files import remove_file
from ._pch import PchStatus
from ._unload import free_list
from ._worker import worker_main

if TYPE_CHECKING:
    from ._engine import Engine

WORKER_THREAD_NAME = "mjit-worker"

#: How long one round of the stop loop waits for the worker before checking interrupts
#: again.  Short: a pending copy job needs the main thread's interrupt check to end.
STOP_POLL_SECONDS = 0.005


def start_worker(engine: "Engine") -> bool:
    """Start a worker thread; False (and the engine disabled) if it cannot start.  No worker
    runs when this is called (the last one said it stopped)."""
    engine.state.stop_worker_p = False
    engine.state.worker_stopped = False
    thread = threading.Thread(target=worker_main, args=(engine,), name=WORKER_THREAD_NAME,
                              daemon=True)
    try:
        thread.start()
    except RuntimeError as exc:
        engine.state.enabled = False
        engine.state.worker_stopped = True
        engine.log.verbose(1, f"Failure in MJIT thread initialization ({exc})")
        return False
    engine.state.worker_thread = thread
    return True


def stop_worker(engine: "Engine") -> None:
    """Stop the worker and wait until its thread has ended (STOP-1; C: ``stop_worker``).

    Main thread.  The lock is never held while running the host's interrupt check, and is
    released while waiting for the worker (FAULT-1)."""
    while True:
        with engine.state.lock:
            if engine.state.worker_stopped:
                break
            # Set inside the loop, like the C: resume may have cleared it meanwhile.
            engine.state.stop_worker_p = True
            engine.state.worker_wakeup.notify_all()
        # STOP-5: a copy job waiting for the main thread ends on this check or on stop_worker_p.
        engine.host.check_ints()
        with engine.state.lock:
            if not engine.state.worker_stopped:
                engine.state.client_wakeup.wait(STOP_POLL_SECONDS)
    join_worker(engine)


def join_worker(engine: "Engine") -> None:
    """Join a worker thread that has said it stopped (it only has to return)."""
    thread, engine.state.worker_thread = engine.state.worker_thread, None
    if thread is not None and thread is not threading.current_thread():
        thread.join()


def init(engine: "Engine") -> None:
    """Start the engine: PCH owner, flags and the worker (C: ``mjit_init``).  No worker runs
    before this."""
    engine.state.enabled = True
    engine.state.call_p = True
    engine.state.pch_status = PchStatus.NOT_READY
    engine.state.pch_owner_pid = os.getpid()
    engine.log.verbose(2, f"MJIT: CC defaults to {engine.toolchain.cc_path}")
    engine.log.verbose(2, f"MJIT: tmp_dir is {engine.tmp_dir}")
    start_worker(engine)


def pause(engine: "Engine", wait: bool) -> bool:
    """Stop compiling, keeping compiled code callable (STOP-6; C: ``mjit_pause``).  False if
    the worker is already stopped; raises on a disabled engine (STOP-3)."""
    if not engine.state.enabled:
        raise EngineStateError("MJIT is not enabled")
    if engine.state.worker_stopped:
        return False
    if wait:
        # STOP-2: the inverse of the worker's wait condition; also end if the worker died.
        while (engine.state.unit_queue.length > 0
               and engine.state.active_units.length < engine.state.max_cache_size
               and not engine.state.worker_stopped):
            with engine.state.lock:
                engine.state.worker_wakeup.notify_all()
            engine.host.sleep(0.001)
    stop_worker(engine)
    return True


def resume(engine: "Engine") -> bool:
    """Start a worker again after ``pause``; it compiles the units still queued (STOP-4)
    (C: ``mjit_resume``).  False if a worker runs; raises on a disabled engine (STOP-3)."""
    if not engine.state.enabled:
        raise EngineStateError("MJIT is not enabled")
    if not engine.state.worker_stopped:
        return False
    join_worker(engine)
    if not start_worker(engine):
        raise EngineStateError("Failed to resume MJIT worker")
    return True


def finish(engine: "Engine", close_handle: bool) -> None:
    """Stop the worker (its thread ended, every compiler reaped: FINISH-1), then, with no
    worker running, free every unit and file (C: ``mjit_finish``)."""
    # FINISH-4: a finished engine is disabled, so a second finish does nothing.
    if not engine.state.enabled:
        # After a failed PCH the worker has already returned: only its thread is left.
        if engine.state.worker_stopped:
            join_worker(engine)
        return

    engine.log.verbose(2, "Stopping worker thread")
    with engine.state.lock:
        # PCH-4: a compiler building the PCH is never abandoned.
        while engine.state.pch_status is PchStatus.NOT_READY and not engine.state.worker_stopped:
            engine.log.verbose(3, "Waiting wakeup from make_pch")
            engine.state.pch_wakeup.wait()
    stop_worker(engine)

    # PCH-5/FORK-3: only the process that built the PCH removes it.
    if not engine.options.save_temps and os.getpid() == engine.state.pch_owner_pid:
        remove_file(engine.pch_file, engine.log)

    engine.state.call_p = False
    state = engine.state
    # FINISH-2/FINISH-3: every unit's files go; close_handle decides whether its code stays
    # mapped.
    with state.lock:
        for units in (state.unit_queue, state.active_units, state.compact_units,
                      state.stale_units):
            free_list(engine, units, close_handle)
    engine.state.enabled = False
    engine.log.verbose(1, "Successful MJIT finish")


def child_after_fork(engine: "Engine") -> None:
    """In a forked child: the parent keeps its files, the child gets a worker of its own
    (FORK-1; C: ``mjit_child_after_fork``).  Nothing is closed: the parent's code stays loaded and
    callable here (FORK-6)."""
    if not engine.state.enabled:
        return
    # No thread of the parent exists here and pause(wait=False) left the lock free, but
    # fresh primitives make sure no waiter of the parent lingers in them.
    engine.state.make_sync_primitives()
    engine.state.worker_thread = None
    # FORK-2: the parent deletes these .o files.  The C marks active units only; stale
    # units of a recompile hold parent files too.
    for units in (engine.state.active_units, engine.state.stale_units):
        for unit in units:
            if unit.o_file:
                unit.o_file_inherited_p = True
    start_worker(engine)
