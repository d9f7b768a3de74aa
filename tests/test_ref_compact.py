"""Reference engine: compaction, unloading and recompilation (real compilers)."""

from __future__ import annotations

import pytest

from pytest_mjit.testing import deadline, wait_for

from test_ref_support import (WAIT, JitState, compiled, define_sum, families,
                              is_compiled, ref_shim, so_mapped, started, unit_files, wait_idle)

pytestmark = pytest.mark.parametrize("family", families())


def _compile_all(host, engine, ms):
    for m in ms:
        engine.add_iseq_to_process(m)
    for m in ms:
        compiled(host, m)


def test_compaction_rebinds_every_live_iseq(tmp_path, family):
    """COMPACT-1, COMPACT-2, COMPACT-5."""
    with started(tmp_path, family) as (host, engine):
        ms = [define_sum(host, f"m{i}", k=i + 2) for i in range(3)]
        _compile_all(host, engine, ms)
        wait_for(lambda: engine.state.compact_units.length >= 1
                 and engine.state.unit_queue.length == 0, WAIT, "a compaction")
        lib = engine.state.compact_units._units[-1]
        wait_for(lambda: all(m.body.jit_func.address != 0 for m in ms), WAIT, "rebinding")
        assert so_mapped(f"u{lib.id}.so")
        for m in ms:
            assert host.call(m, 9) == host.interpret(m, 9)
            assert unit_files(tmp_path, m.body.jit_func.unit_id)   # .o kept


def test_failed_compaction_keeps_old_code(tmp_path, family):
    """COMPACT-3: a link of several .o files fails; every jit_func stays and works."""
    shim = ref_shim(tmp_path, family)
    shim.fail(kind="link", objects=2)
    with started(tmp_path, family, shim=shim) as (host, engine):
        ms = [define_sum(host, f"m{i}", k=i + 2) for i in range(2)]
        _compile_all(host, engine, ms)
        wait_idle(host, engine)
        funcs = [m.body.jit_func for m in ms]
        assert engine.state.compact_units.length == 0
        for m, f in zip(ms, funcs, strict=True):
            assert m.body.jit_func == f and host.call(m, 5) == host.interpret(m, 5)


def test_unload_fewest_called_unused_first(tmp_path, family):
    """UNLOAD-1..5, QUEUE-6: a full cache unloads down to size - size/10, never code on
    the stack, the fewest-called first, freed ones first."""
    with started(tmp_path, family, max_cache_size=10) as (host, engine):
        ms = [define_sum(host, f"m{i}") for i in range(10)]
        _compile_all(host, engine, ms)
        wait_idle(host, engine)
        for i, m in enumerate(ms):
            for _ in range(i + 1):
                host.call(m, 1)
        victim_unit = ms[1].body.jit_func.unit_id
        extra = define_sum(host, "extra")
        with host.frame(ms[0]):   # fewest calls, but on a stack
            engine.add_iseq_to_process(extra)
        assert is_compiled(ms[0].body.jit_func)
        assert ms[1].body.jit_func == JitState.NOT_COMPILED     # UNLOAD-1, UNLOAD-3
        assert all(is_compiled(m.body.jit_func) for m in ms[2:])
        assert unit_files(tmp_path, victim_unit) == []           # UNLOAD-4
        compiled(host, extra)
        host.call(ms[1], 1)
        assert [e for e in host.events_of("enqueue") if e.iseq == ms[1].id] == []


def test_full_cache_of_code_on_stack(tmp_path, family):
    """QUEUE-6, STOP-2: nothing can be unloaded, so the worker dequeues nothing for a
    whole wait(); pause(wait=True) then returns without draining the queue."""
    with started(tmp_path, family, max_cache_size=10, wait_timeout=1.0) as (host, engine):
        ms = [define_sum(host, f"m{i}") for i in range(10)]
        _compile_all(host, engine, ms)
        wait_idle(host, engine)
        extra = define_sum(host, "extra")
        with _frames(host, ms):
            engine.add_iseq_to_process(extra)
            # Observed before any stop: like the C, a worker woken by stop_worker_p may
            # still take one unit on its way out, so pause() is no place to look.
            assert engine.wait(extra) == JitState.NOT_COMPILED      # WAIT-2
            assert extra.id not in [e.iseq for e in host.events_of("generate_code:enter")]
            with deadline(WAIT, "pause(wait=True) with a full cache"):
                engine.pause(wait=True)
        assert engine.state.max_cache_size == 10
        assert all(is_compiled(m.body.jit_func) for m in ms)


def _frames(host, ms):
    import contextlib
    stack = contextlib.ExitStack()
    for m in ms:
        stack.enter_context(host.frame(m))
    return stack


def test_recompile(tmp_path, family):
    """RECOMPILE-1..4."""
    with started(tmp_path, family) as (host, engine):
        m = define_sum(host, k=5)
        n = define_sum(host, "n")
        engine.recompile(n)                      # RECOMPILE-3
        assert n.body.jit_func == JitState.NOT_ADDED
        engine.add_iseq_to_process(m)
        compiled(host, m)
        old = m.body.jit_func
        engine.recompile(m)
        compiled(host, m)
        assert m.body.jit_func.unit_id > old.unit_id              # RECOMPILE-1
        assert so_mapped(f"u{old.unit_id}.so")                    # RECOMPILE-2
        assert host.call(m, 4) == 30
        stale = engine.state.stale_units._units[0]
        engine.free_iseq(m)                                       # RECOMPILE-4
        assert stale.iseq is None
