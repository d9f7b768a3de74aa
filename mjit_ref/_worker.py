"""The worker thread: PCH first, then dequeue, compile, publish and compact."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_mjit import JitState, is_compiled

from ._compaction import compact_all_jit_code
from ._convert import convert_unit_to_func
from ._pch import PchStatus, make_pch
from ._queue import get_from_list
from ._units import Unit
from ._unload import free_unit

if TYPE_CHECKING:
    from ._engine import Engine


def worker_main(engine: "Engine") -> None:
    """Body of the worker thread (C: ``mjit_worker``)."""
    try:
        if engine.state.pch_status is PchStatus.NOT_READY:
            make_pch(engine)  # PCH-1: before any unit
        if engine.state.pch_status is PchStatus.FAILED:
            # PCH-3: the engine is off; queued methods stay interpreted.
            with engine.state.lock:
                engine.state.enabled = False
            return
        while not engine.state.stop_worker_p:
            with engine.state.lock:
                # QUEUE-6: a full cache dequeues nothing until unloading frees a slot or a
                # stop request wakes the worker.
                while ((engine.state.unit_queue.length == 0
                        or engine.state.active_units.length >= engine.state.max_cache_size)
                       and not engine.state.stop_worker_p):
                    engine.state.worker_wakeup.wait()
                    engine.log.verbose(3, "Getting wakeup from client")
                unit = get_from_list(engine, engine.state.unit_queue)
            if unit is not None:
                # STOP-1/FORK-5: a unit once taken is finished and published before the
                # stop flag is read again, so a stop never abandons a compile halfway.
                _process(engine, unit)
    finally:
        with engine.state.lock:
            engine.state.worker_stopped = True
            engine.state.client_wakeup.notify_all()
            engine.state.pch_wakeup.notify_all()


def _process(engine: "Engine", unit: Unit) -> None:
    """Compile one unit, publish the result and compact when it is time."""
    try:
        func = convert_unit_to_func(engine, unit)
    except Exception as exc:  # a bug in a step must not kill the worker
        # FAULT-3: the unit fails; no exception reaches the host.
        engine.log.warning(f"compiling u{unit.id} raised {exc!r}")
        func = JitState.NOT_COMPILED

    with engine.state.lock:
        # GC-4: never touch an ISeq while GC runs.
        while engine.state.in_gc:
            engine.log.verbose(3, "Waiting wakeup from GC")
            engine.state.gc_wakeup.wait()
        if unit.iseq is not None:
            if is_compiled(func):
                engine.state.active_units.add(unit)
            # LOAD-2: published under the lock, only for a live ISeq.  LOAD-3: a failure
            # publishes NOT_COMPILED, which the host's call path never queues again.
            unit.iseq.body.jit_func = func
        else:
            free_unit(engine, unit)
        queue_len = engine.state.unit_queue.length
        active_len = engine.state.active_units.length

    # COMPACT-1 and COMPACT-6.
    if ((not engine.options.wait and queue_len == 0 and active_len > 1)
            or active_len == engine.state.max_cache_size):
        try:
            compact_all_jit_code(engine)
        except Exception as exc:  # the old code stays in place
            engine.log.warning(f"compaction raised {exc!r}")
