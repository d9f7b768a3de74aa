"""The call path (C: mjit_exec) against a stand-in engine that only records what it is asked."""

from __future__ import annotations

import ctypes
import threading

from test_host_support import FakeCompiled, add_iseq, make_host

from pytest_mjit import JitFunc, JitState
from pytest_mjit.testing import wait_event

def test_enqueues_exactly_once_at_min_calls():
    host, engine = make_host(min_calls=3)
    with host:
        add = add_iseq(host)
        for expected_adds in (0, 0, 1, 1, 1):
            host.call(add, 1, 2)
            assert engine.names().count("add_iseq_to_process") == expected_adds
        assert add.body.total_calls == 5
        assert add.body.jit_func is JitState.NOT_READY
        assert [e.iseq for e in host.events_of("enqueue")] == [add.id]
        assert "wait" not in engine.names()


def test_not_compiled_and_not_ready_are_never_queued_again():
    host, engine = make_host(min_calls=2)
    with host:
        add = add_iseq(host)
        for state in (JitState.NOT_COMPILED, JitState.NOT_READY):
            add.body.jit_func = state
            add.body.total_calls = 0
            for _ in range(4):
                assert host.call(add, 2, 2) == 4
        assert "add_iseq_to_process" not in engine.names()


def test_a_disabled_engine_is_not_asked():
    host, engine = make_host(min_calls=1)
    with host:
        engine.enabled = False
        add = add_iseq(host)
        host.call(add, 1, 1)
        assert engine.calls == []


def test_wait_mode_waits_in_the_same_call_and_runs_the_compiled_code():
    host, engine = make_host(min_calls=2, wait=True)
    with host:
        add = add_iseq(host)
        compiled = FakeCompiled(lambda argv: 1000 + argv[0] + argv[1])
        engine.on_wait = lambda iseq: setattr(iseq.body, "jit_func", compiled.jit_func)
        assert host.call(add, 1, 2) == 3
        assert host.call(add, 1, 2) == 1003
        assert engine.names() == ["add_iseq_to_process", "wait"]
        assert [e.kind for e in host.events_of("enqueue", "wait", "jit_call")] == \
            ["enqueue", "wait", "jit_call"]


def test_compiled_code_is_called_only_while_call_p():
    host, engine = make_host(min_calls=100)
    with host:
        add = add_iseq(host)
        compiled = FakeCompiled(lambda argv: -7)
        add.body.jit_func = compiled.jit_func
        assert host.call(add, 1, 2) == -7
        engine.call_p = False
        assert host.call(add, 1, 2) == 3
        assert host.violations == []


def test_compiled_code_receives_the_arguments_as_int64():
    host, _ = make_host(min_calls=100)
    with host:
        add = add_iseq(host)
        seen = []
        compiled = FakeCompiled(lambda argv: seen.append((argv[0], argv[1])) or 0)
        add.body.jit_func = compiled.jit_func
        host.call(add, -(1 << 63), (1 << 63) - 1)
        assert seen == [(-(1 << 63), (1 << 63) - 1)]


def test_an_unmapped_jit_func_is_a_violation_and_is_interpreted():
    host, _ = make_host(min_calls=100)
    with host:
        add = add_iseq(host)
        data = (ctypes.c_int64 * 4)()   # heap memory: mapped, but not executable
        add.body.jit_func = JitFunc(ctypes.addressof(data), 3)
        assert host.call(add, 20, 22) == 42
        [violation] = host.violations
        assert "not in an executable mapping" in violation.detail
        assert violation.iseq == add.id


def test_nested_calls_take_the_call_path():
    host, engine = make_host(min_calls=2)
    with host:
        add = add_iseq(host)
        twice = host.define("twice", [("arg", 0), ("arg", 0), ("call", 0, 2), ("ret",)],
                            argc=1, calls=[add])
        host.call(twice, 5)
        assert host.call(twice, 5) == 10
        assert add.body.total_calls == 2
        assert [c[1] for c in engine.calls] == [twice, add]  # the caller is counted first


def test_copy_on_the_worker_is_allowed_while_main_waits():
    """Wait mode: the copy job runs inline on the worker while the main thread is blocked in
    engine.wait (COPYJOB-7); outside such a wait it is a violation."""
    host, engine = make_host(min_calls=1, wait=True)
    with host:
        host.set_const("K", 1)
        m = host.define("m", [("getconst", 0), ("ret",)], consts=["K"])
        done = threading.Event()

        def worker(iseq):
            host.copy_caches(iseq, [], [None])
            done.set()

        def on_wait(iseq):
            threading.Thread(target=worker, args=(iseq,), name="worker").start()
            wait_event(done, 30, "the worker's inline copy")

        engine.on_wait = on_wait
        host.call(m)
        assert host.violations == []
        done.clear()
        threading.Thread(target=worker, args=(m,), name="worker").start()
        wait_event(done, 30, "the worker's copy")
        [violation] = host.violations
        assert "called off the main thread" in violation.detail
        assert violation.thread == "worker"
