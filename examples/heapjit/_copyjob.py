"""The copy job: the worker asks the main thread for a method's call caches and inline
storage (C: mjit_copy_cache_from_main_thread and mjit_copy_job_handler)."""

from __future__ import annotations

import functools

from ._state import CopyJob

__all__ = ["request_copy", "run_copy_job", "COPY_PATIENCE"]

#: Seconds the worker waits for the main thread to run the job before giving up on it.
COPY_PATIENCE = 600.0


def request_copy(engine, iseq, cc_entries: list, is_entries: list) -> bool:
    """Worker, inside generate_code with ``in_jit`` set: have the caches copied on the main
    thread; True when the buffers hold them and the ISeq is still alive."""
    state = engine.state
    job = CopyJob(iseq, cc_entries, is_entries)
    with state.monitor:
        state.job = job                 # mark() keeps job.iseq alive from here (GC-7)
        state.in_jit = False            # GC may run while we wait (COPYJOB-2)
        job.enabled = True
        state.changed()
    if engine.options.wait:
        # The main thread is blocked in wait(): run the handler here (COPYJOB-7).
        run_copy_job(engine, job)
    elif engine.host.register_postponed_job(functools.partial(run_copy_job, engine), job):
        with state.monitor:
            try:
                state.wait_until(lambda: job.done or state.stopping, "the copy job",
                                 COPY_PATIENCE)
            except RuntimeError:
                engine.log.warning("gave up waiting for the copy job")
    # A refused registration falls through at once with job.done False (COPYJOB-8).
    with state.monitor:
        copied = job.done and job.iseq is not None      # job.iseq None: freed (COPYJOB-4)
        job.enabled = False             # a late handler run does nothing (COPYJOB-6)
        state.job = None
        # Take in_jit back only outside GC: generation resumes after this (GC-1).
        state.wait_until(lambda: not state.in_gc, "GC to end after the copy job")
        state.in_jit = True
    return copied


def run_copy_job(engine, job: CopyJob) -> None:
    """The handler: main thread (a postponed job), or the worker in wait mode."""
    state = engine.state
    if state.stopping:
        return      # the waiting worker is being stopped and will fail the copy
    with state.monitor:
        if not job.enabled or job.done:
            return
        if job.iseq is not None:
            engine.host.copy_caches(job.iseq, job.cc_entries, job.is_entries)
        job.done = True
        state.changed()
