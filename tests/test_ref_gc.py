"""Reference engine: GC hooks against the worker, and the copy job (real compilers)."""

from __future__ import annotations

import threading

import pytest

from pytest_mjit.testing import deadline, wait_for

from test_ref_support import (WAIT, Insn, JitState, compiled, define_caller, define_sum,
                              engine_files, families, unit_files, settle, so_mapped, started,
                              wait_idle)

pytestmark = pytest.mark.parametrize("family", families())


def _release_when(host, kind, gate):
    """A thread that opens ``gate`` once the host logged an event of ``kind``."""
    def run():
        wait_for(lambda: host.events_of(kind), WAIT, f"event {kind}")
        gate.release()
    t = threading.Thread(target=run, name="test-releaser", daemon=True)
    t.start()
    return t


def test_gc_start_waits_for_generate_code(tmp_path, family):
    """GC-2: gc_start_hook blocks while generate_code runs and returns once it ends."""
    with started(tmp_path, family) as (host, engine):
        m = define_sum(host)
        gate = host.gate("generate_code:exit", m)
        engine.add_iseq_to_process(m)
        gate.wait_reached()
        releaser = _release_when(host, "gc_start_hook:enter", gate)
        with deadline(WAIT, "host.gc() while the worker generates code"):
            host.gc()
        releaser.join(WAIT)
        kinds = [e.kind for e in host.events
                 if e.kind in ("generate_code:exit", "gc_start_hook:exit")]
        assert kinds == ["generate_code:exit", "gc_start_hook:exit"]
        compiled(host, m)
        assert not host.violations


def test_worker_waits_for_gc_end_before_generating(tmp_path, family):
    """GC-1, GC-3: a worker ready to generate code during GC waits for gc_exit_hook."""
    with started(tmp_path, family) as (host, engine):
        m = define_sum(host)
        host.gc_begin()
        engine.add_iseq_to_process(m)
        # The .c is created before the worker waits for GC.
        wait_for(lambda: any(f.endswith(".c") for f in engine_files(tmp_path)), WAIT, ".c")
        assert not host.events_of("generate_code:enter")
        host.gc_end()
        compiled(host, m)
        assert not host.violations


def test_result_is_not_published_during_gc(tmp_path, family):
    """GC-4: the worker holds a loaded result until GC ends."""
    with started(tmp_path, family) as (host, engine):
        m = define_sum(host)
        gate = host.gate("generate_code:exit", m)
        engine.add_iseq_to_process(m)
        gate.wait_reached()
        gate.release()
        # Between generate_code and publishing, take GC (in_jit is released first).
        with deadline(WAIT, "gc_begin"):
            host.gc_begin()
        # Wait until the library is loaded (its deleted .so is mapped): only publishing is left.
        unit = m.body.jit_unit.id
        wait_for(lambda: so_mapped(f"u{unit}.so"), WAIT, "the unit's .so to be loaded")
        assert m.body.jit_func == JitState.NOT_READY
        host.gc_end()
        compiled(host, m)


def test_freed_while_waiting_for_gc_is_not_compiled(tmp_path, family):
    """GC-5: an ISeq GC frees while its unit waits for GC is not compiled; no files stay."""
    with started(tmp_path, family) as (host, engine):
        m = define_sum(host, root=False)
        host.gc_begin()
        engine.add_iseq_to_process(m)
        unit = m.body.jit_unit.id
        wait_for(lambda: any(f.endswith(".c") for f in engine_files(tmp_path)), WAIT, ".c")
        assert m in host.gc_sweep()   # dequeued, so no longer marked
        host.gc_end()
        wait_for(lambda: not unit_files(tmp_path, unit), WAIT,
                 "the unit's files to go")
        wait_idle(host, engine)
        assert not host.events_of("generate_code:enter")
        assert not host.violations


def test_failed_generation_releases_in_jit(tmp_path, family):
    """GC-6, COPYJOB-8: a refused copy job fails generation at once; GC then never blocks."""
    with started(tmp_path, family) as (host, engine):
        caller = define_caller(host, define_sum(host))
        host.refuse_postponed_jobs = True
        engine.add_iseq_to_process(caller)
        settle(host, caller)
        assert caller.body.jit_func == JitState.NOT_COMPILED
        with deadline(WAIT, "host.gc() after a failed generation"):
            host.gc()
        assert not [f for f in engine_files(tmp_path) if f.endswith((".c", ".so"))]


def test_copy_job_snapshot_and_marking(tmp_path, family):
    """GC-7, COPYJOB-1, COPYJOB-2, COPYJOB-3: GC runs while the worker waits for the job,
    the job's ISeq stays alive, and the code uses the values of when the job ran."""
    with started(tmp_path, family) as (host, engine):
        host.set_const("K", 5)
        m = host.define("k", [Insn("getconst", 0), Insn("arg", 0), Insn("add"), Insn("ret")],
                        argc=1, consts=["K"], root=False)
        engine.add_iseq_to_process(m)
        wait_for(lambda: host.events_of("postponed:register"), WAIT, "the copy job")
        host.gc_begin()     # the worker is waiting for the job: GC may run (COPYJOB-2)
        assert m not in host.gc_sweep()   # GC-7: marked as the copy job's ISeq
        host.gc_end()
        host.set_const("K", 7)
        compiled(host, m)   # runs the job on this thread
        assert host.call(m, 1) == 8
        assert not host.violations   # COPYJOB-1: caches were read on the main thread only


def test_freed_while_job_waits_fails_the_copy(tmp_path, family):
    """COPYJOB-4: freeing the ISeq while the job waits fails the copy; nothing reads it."""
    with started(tmp_path, family) as (host, engine):
        caller = define_caller(host, define_sum(host))
        engine.add_iseq_to_process(caller)
        wait_for(lambda: host.events_of("postponed:register"), WAIT, "the copy job")
        engine.free_iseq(caller)
        host.check_ints()
        wait_idle(host, engine)
        assert not host.events_of("copy_caches")
        assert not host.violations


def test_pause_with_a_pending_copy_job(tmp_path, family):
    """COPYJOB-5, COPYJOB-6, STOP-5: pause ends the job wait; the job then does nothing."""
    with started(tmp_path, family) as (host, engine):
        caller = define_caller(host, define_sum(host))
        engine.add_iseq_to_process(caller)
        wait_for(lambda: host.events_of("postponed:register"), WAIT, "the copy job")
        with deadline(WAIT, "pause with a pending copy job"):
            assert engine.pause(wait=False) is True
        assert caller.body.jit_func == JitState.NOT_COMPILED
        assert not host.events_of("copy_caches")
        assert engine.resume() is True
        host.check_ints()
        assert not host.violations


def test_wait_mode_runs_the_job_inline(tmp_path, family):
    """COPYJOB-7, WAIT-1: in wait mode the call at min_calls returns compiled code's result."""
    with started(tmp_path, family, wait=True) as (host, engine):
        caller = define_caller(host, define_sum(host, k=2))
        host.call(caller, 5)
        assert host.call(caller, 5) == 21
        assert host.events_of("jit_call")
        assert not host.events_of("postponed:register")
        assert not host.violations
