"""The copy job: the worker asks the main thread for a snapshot of an ISeq's caches."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._engine import Engine


@dataclasses.dataclass(eq=False)
class CopyJob:
    """The engine's single copy job (C: ``mjit_copy_job``).  ``finish_p`` True means the
    job is disabled or done; ``iseq`` keeps the ISeq marked while the job is pending."""

    iseq: Any = None
    cc_entries: list | None = None
    is_entries: list | None = None
    finish_p: bool = True


def copy_cache_from_main_thread(engine: "Engine", iseq: Any, cc_entries: list,
                                is_entries: list) -> bool:
    """Have the main thread fill ``cc_entries``/``is_entries`` from ``iseq``; True when the
    copy was made (C: ``mjit_copy_cache_from_main_thread``).  Worker thread, in_jit held."""
    job = engine.state.copy_job
    with engine.state.lock:
        job.finish_p = True  # disabled while being filled
    job.cc_entries = cc_entries
    job.is_entries = is_entries
    with engine.state.lock:
        job.iseq = iseq  # GC-7: from here mark() keeps it alive
        # COPYJOB-2: GC may run while we wait for the main thread.
        engine.state.in_jit = False
        engine.state.client_wakeup.notify_all()
        job.finish_p = False

    try:
        if engine.options.wait:
            # COPYJOB-7: the main thread is blocked in wait(); run the copy right here.
            copy_job_handler(engine, job)
        elif engine.host.register_postponed_job(lambda data: copy_job_handler(engine, data), job):
            with engine.state.lock:
                # COPYJOB-5: stop_worker_p ends the wait too, or stop_worker would deadlock.
                while not job.finish_p and not engine.state.stop_worker_p:
                    engine.state.worker_wakeup.wait()
                    engine.log.verbose(3, "Getting wakeup from client")
        # else COPYJOB-8: a refused registration fails at once.
    finally:
        with engine.state.lock:
            success = job.finish_p
            job.finish_p = True
            # GC-1: unlike the C, do not take in_jit back in the middle of a GC.
            while engine.state.in_gc:
                engine.state.gc_wakeup.wait()
            engine.state.in_jit = True
            if job.iseq is None:
                # COPYJOB-4: free_iseq cleared it while we waited.
                success = False
            job.iseq = None
            job.cc_entries = job.is_entries = None
    return success


def copy_job_handler(engine: "Engine", job: CopyJob) -> None:
    """Copy the caches on the main thread, the only reader of call caches (COPYJOB-1;
    C: ``mjit_copy_job_handler``); does nothing when the worker is stopping or gave up on
    the job."""
    if engine.state.stop_worker_p:
        return
    with engine.state.lock:
        # COPYJOB-6: a disabled job (the worker gave up or is refilling it) does nothing.
        if job.finish_p:
            return
        if job.iseq is None:
            job.finish_p = True
            # The C does not wake the worker here; it would sleep until the next wakeup.
            engine.state.worker_wakeup.notify_all()
            return
        try:
            # COPYJOB-3: the values as of now, when the job runs on the main thread.
            engine.host.copy_caches(job.iseq, job.cc_entries, job.is_entries)
        except Exception as exc:  # never into the host's interrupt check
            engine.log.warning(f"copying caches failed: {exc!r}")
            job.iseq = None  # makes the worker's copy fail
        job.finish_p = True
        engine.state.worker_wakeup.notify_all()
