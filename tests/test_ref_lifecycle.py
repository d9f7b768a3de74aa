"""Reference engine: pause/resume, finish, wait and fork (real compilers)."""

from __future__ import annotations

import os
import threading

import pytest

from pytest_mjit import EngineStateError
from pytest_mjit.testing import deadline, wait_for

from test_ref_support import (WAIT, JitState, compiled, define_sum, engine_files, families,
                              finish_bounded, is_compiled, ref_shim, so_mapped, started,
                              threads_named, wait_idle)

pytestmark = pytest.mark.parametrize("family", families())


def test_pause_and_resume(tmp_path, family):
    """STOP-1, STOP-3, STOP-4, STOP-6."""
    with started(tmp_path, family) as (host, engine):
        m = define_sum(host)
        engine.add_iseq_to_process(m)
        compiled(host, m)
        with deadline(WAIT, "pause"):
            assert engine.pause(wait=False) is True
        assert not threads_named("mjit-worker")
        assert engine.pause(wait=False) is False
        assert host.call(m, 4) == 6 and host.events_of("jit_call")   # STOP-6
        n = define_sum(host, "n")
        engine.add_iseq_to_process(n)
        assert n.body.jit_func == JitState.NOT_READY
        assert engine.resume() is True
        assert engine.resume() is False
        compiled(host, n)                                         # STOP-4
        assert len(threads_named("mjit-worker")) == 1


def test_pause_wait_drains_the_queue(tmp_path, family):
    """STOP-2."""
    with started(tmp_path, family) as (host, engine):
        ms = [define_sum(host, f"m{i}") for i in range(3)]
        for m in ms:
            engine.add_iseq_to_process(m)
        with deadline(WAIT, "pause(wait=True)"):
            assert engine.pause(wait=True) is True
        assert all(is_compiled(m.body.jit_func) for m in ms)


def test_finish_leaves_nothing(tmp_path, family):
    """FINISH-1, FINISH-2, FINISH-3, COMPACT-5, PCH-5."""
    with started(tmp_path, family) as (host, engine):
        ms = [define_sum(host, f"m{i}") for i in range(2)]
        for m in ms:
            engine.add_iseq_to_process(m)
        for m in ms:
            compiled(host, m)
        wait_idle(host, engine)
        assert [f for f in engine_files(tmp_path) if f.endswith(".o")]   # kept for compaction
        assert so_mapped(str(tmp_path))
        finish_bounded(engine)
        assert not threads_named("mjit-worker")
        assert engine_files(tmp_path) == []
        assert not so_mapped(str(tmp_path))
        assert engine.call_p is False
        with pytest.raises(EngineStateError):
            engine.pause()
        with pytest.raises(EngineStateError):
            engine.resume()


def test_finish_without_close_handle_keeps_code_mapped(tmp_path, family):
    """FINISH-3: close_handle=False leaves loaded code mapped."""
    with started(tmp_path, family, allow=("maps",)) as (host, engine):
        m = define_sum(host)
        engine.add_iseq_to_process(m)
        compiled(host, m)
        finish_bounded(engine, close_handle=False)
        assert so_mapped(str(tmp_path))
        assert engine_files(tmp_path) == []


def test_finish_waits_for_a_running_compiler(tmp_path, family):
    """PCH-4, FAULT-1, COMPILE-5: finish during the PCH build waits for the compiler, and
    GC hooks still return meanwhile."""
    shim = ref_shim(tmp_path, family)
    header = shim.hold(kind="pch")
    # the harness's own children (its watchdog) may predate the test
    before = {c for c in os.listdir("/proc") if c.isdigit() and _is_child(int(c))}
    with started(tmp_path, family, shim=shim) as (host, engine):
        header.wait_reached(WAIT)
        with deadline(WAIT, "GC while the PCH builds"):
            host.gc()
        opener = threading.Timer(0.0, header.release)
        opener.start()
        finish_bounded(engine)
        opener.join(WAIT)
        assert not threads_named("mjit-worker")
        assert engine_files(tmp_path) == []
        left = [c for c in os.listdir("/proc")
                if c.isdigit() and c not in before and _is_child(int(c))]
        assert not left, f"child processes survive finish: {left}"


def _is_child(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1]) == os.getpid()
    except (OSError, ValueError, IndexError):
        return False


def test_wait_gives_up_after_timeout(tmp_path, family, capfd):
    """WAIT-2: a stuck compiler makes wait give up with NOT_COMPILED and a warning."""
    shim = ref_shim(tmp_path, family)
    compile_hold = shim.hold(kind="compile")
    with started(tmp_path, family, shim=shim, wait=True, wait_timeout=0.3,
                 warnings=True) as (host, engine):
        m = define_sum(host)
        host.call(m, 3)
        assert host.call(m, 3) == 3
        assert m.body.jit_func == JitState.NOT_COMPILED
        compile_hold.release()
    assert "MJIT warning: timed out to wait for JIT finish" in capfd.readouterr().err


def test_fork(tmp_path, family):
    """FORK-1, FORK-2, FORK-3, FORK-4, FORK-6."""
    with started(tmp_path, family) as (host, engine):
        ms = [define_sum(host, f"m{i}", k=i + 1) for i in range(2)]
        for m in ms:
            engine.add_iseq_to_process(m)
        for m in ms:
            compiled(host, m)
        wait_idle(host, engine)
        before = {f for f in engine_files(tmp_path) if f.endswith((".o", ".gch"))}

        def child(h):
            calls_before = len(h.events_of("jit_call"))
            r = h.call(ms[1], 4)                                        # FORK-6
            jitted = len(h.events_of("jit_call")) > calls_before
            n = define_sum(h, "child_m")
            h.engine.add_iseq_to_process(n)
            wait_for(lambda: (h.check_ints(), n.body.jit_func != JitState.NOT_READY)[1],
                     WAIT, "the child's unit")
            return {"pid": os.getpid(), "r": r, "jitted": jitted,
                    "compiled": is_compiled(n.body.jit_func), "files": engine_files(tmp_path)}

        res = host.fork(child, timeout=WAIT)
        assert res.error is None, res.error
        out = res.result
        assert out["r"] == 12 and out["jitted"] and out["compiled"]
        assert any(f"p{out['pid']}u" in f for f in out["files"])            # FORK-4
        after = set(engine_files(tmp_path))
        assert before <= after                                              # FORK-2, FORK-3
        assert not [f for f in after if f"p{out['pid']}u" in f]            # FORK-4 cleanup
        assert len(threads_named("mjit-worker")) == 1                       # FORK-1
        n = define_sum(host, "parent_after")
        engine.add_iseq_to_process(n)
        compiled(host, n)
        # The parent still compacts with the .o files made before the fork.
        wait_for(lambda: engine.state.compact_units.length >= 2, WAIT, "a compaction in the parent")
