"""Reference engine: queue, compile, load, PCH use and class serials (real compilers)."""

from __future__ import annotations

import os

import pytest

from test_ref_support import (JitState, cc_log, compiled, define_sum, unit_files,
                              families, is_compiled, ref_shim, settle, started, wait_idle)

pytestmark = pytest.mark.parametrize("family", families())


def test_compiled_code_matches_interpreter(tmp_path, family):
    """QUEUE-1, QUEUE-4, COMPILE-1, LOAD-1."""
    with started(tmp_path, family) as (host, engine):
        m = define_sum(host, k=3)
        assert host.call(m, 10) == host.interpret(m, 10)
        host.call(m, 10)  # the min_calls-th call enqueues
        assert m.body.jit_func in (JitState.NOT_READY,) or is_compiled(m.body.jit_func)
        compiled(host, m)
        assert host.call(m, 100) == host.interpret(m, 100) == 3 * 4950
        assert host.events_of("jit_call")
        assert not host.violations


def test_priority_is_read_at_dequeue(tmp_path, family):
    """QUEUE-2, QUEUE-7: the worker takes the most-called queued unit when it dequeues."""
    with started(tmp_path, family) as (host, engine):
        blocker = define_sum(host, "blocker")
        gate = host.gate("generate_code:enter", blocker)
        engine.add_iseq_to_process(blocker)
        gate.wait_reached()
        a, b, c = (define_sum(host, n) for n in "abc")
        for m in (a, b, c):
            engine.add_iseq_to_process(m)
        for _ in range(3):
            host.call(b, 1)   # b overtakes while queued
        host.call(c, 1)
        gate.release()
        for m in (a, b, c):
            settle(host, m)
        order = [e.iseq for e in host.events_of("generate_code:enter")]
        assert order == [blocker.id, b.id, c.id, a.id]


def test_freed_queued_unit_is_never_compiled(tmp_path, family):
    """QUEUE-3 and GC-7: queued ISeqs are marked; one freed anyway is dropped."""
    with started(tmp_path, family) as (host, engine):
        blocker = define_sum(host, "blocker")
        gate = host.gate("generate_code:enter", blocker)
        engine.add_iseq_to_process(blocker)
        gate.wait_reached()
        kept = define_sum(host, "kept", root=False)
        dropped = define_sum(host, "dropped", root=False)
        engine.add_iseq_to_process(kept)
        engine.add_iseq_to_process(dropped)
        dropped_unit = dropped.body.jit_unit.id
        engine.free_iseq(dropped)   # what GC would do
        gate.release()
        settle(host, kept)
        wait_idle(host, engine)
        assert not kept.freed
        assert dropped.id not in [e.iseq for e in host.events_of("generate_code:enter")]
        assert not unit_files(tmp_path, dropped_unit)


def test_finished_engine_queues_nothing(tmp_path, family):
    """QUEUE-5, FINISH-4, FINISH-5."""
    with started(tmp_path, family) as (host, engine):
        engine.finish()
        m = define_sum(host)
        engine.add_iseq_to_process(m)
        assert m.body.jit_func == JitState.NOT_ADDED
        assert engine.call_p is False and engine.enabled is False
        engine.finish()  # idempotent
        assert host.call(m, 3) == 3


def test_pch_built_first_and_used_by_every_unit(tmp_path, family):
    """PCH-1, PCH-2, PCH-6, COMPILE-7 (flags), OPT-3 (debug flags reach every compile)."""
    shim = ref_shim(tmp_path, family)
    with started(tmp_path, family, shim=shim, debug_flags=("-DMJIT_TEST_FLAG",),
                 save_temps=True) as (host, engine):
        m = define_sum(host)
        engine.add_iseq_to_process(m)
        compiled(host, m)
        pid = os.getpid()
        pch = f"{tmp_path}/_ruby_mjit_hp{pid}u0.h.gch"
        log = cc_log(shim)
        assert log[0][log[0].index("-o") + 1] == pch
        compiles = [a for a in log if "-c" in a]
        links = [a for a in log if "-c" not in a and a is not log[0]]
        assert compiles and links
        for argv in [log[0], *compiles]:
            assert "-DMJIT_TEST_FLAG" in argv and "-O2" in argv
        for argv in compiles:
            if family == "clang":
                assert argv[argv.index("-include-pch") + 1] == pch
            else:
                for flag in ("-fPIC", "-shared", "-w", "-pipe", "-Wfatal-errors",
                             "-nodefaultlibs", "-nostdlib"):
                    assert flag in argv
        if family == "gcc":
            for argv in links:
                assert "-nostartfiles" in argv and "-lgcc" in argv
            c_file = tmp_path / f"_ruby_mjit_p{pid}u{m.body.jit_func.unit_id}.c"
            first = c_file.read_text().splitlines()[0]
            assert first == f'#include "{pch[:-len(".gch")]}"'
            assert "/* sum@<pytest_mjit>:1 */" in c_file.read_text()


def test_debug_uses_debug_flags(tmp_path, family):
    """OPT-3: debug compiles with the debug flags instead of the optimisation flags."""
    shim = ref_shim(tmp_path, family)
    with started(tmp_path, family, shim=shim, debug=True) as (host, engine):
        m = define_sum(host)
        engine.add_iseq_to_process(m)
        compiled(host, m)
        for argv in cc_log(shim):
            assert "-O2" not in argv and "-O0" in argv and "-g" in argv


def test_class_serials(tmp_path, family):
    """SERIAL-1."""
    with started(tmp_path, family) as (host, engine):
        assert engine.valid_class_serial_p(host.default_class)
        engine.add_class_serial(987654)
        assert engine.valid_class_serial_p(987654)
        engine.remove_class_serial(987654)
        assert not engine.valid_class_serial_p(987654)
