"""Postponed jobs, check_ints, and what the host records when main-thread data is touched
from another thread."""

from __future__ import annotations

import threading

import pytest
from test_host_support import add_iseq, make_host

from pytest_mjit import MjitError


@pytest.fixture
def vm():
    host, engine = make_host(min_calls=1000)
    with host:
        yield host, engine


def on_thread(fn, name="worker"):
    """Run ``fn`` on a new thread, wait for it, and return what it returned."""
    out = []
    t = threading.Thread(target=lambda: out.append(fn()), name=name)
    t.start()
    t.join(30)
    assert not t.is_alive()
    return out[0] if out else None


def test_a_job_registered_by_the_worker_runs_on_the_main_thread(vm):
    host, _ = vm
    ran = []
    assert on_thread(lambda: host.register_postponed_job(
        lambda data: ran.append((data, threading.current_thread().name)), "x")) is True
    assert host.pending_postponed_jobs == 1 and ran == []
    host.check_ints()
    assert ran == [("x", "MainThread")]
    kinds = [e.kind for e in host.events]
    assert kinds == ["postponed:register", "check_ints", "postponed:run"]
    host.check_ints()
    assert len(ran) == 1


def test_refused_registration(vm):
    host, _ = vm
    host.refuse_postponed_jobs = True
    assert on_thread(lambda: host.register_postponed_job(print, None)) is False
    assert host.pending_postponed_jobs == 0
    assert host.events_of("postponed:register")[0].detail == "refused"


def test_the_call_path_and_sleep_check_interrupts(vm):
    host, _ = vm
    ran = []
    host.register_postponed_job(ran.append, 1)
    host.call(add_iseq(host), 1, 2)
    host.register_postponed_job(ran.append, 2)
    host.sleep(0)
    assert ran == [1, 2]


def test_check_ints_off_the_main_thread_is_a_violation_and_runs_nothing(vm):
    host, _ = vm
    ran = []
    host.register_postponed_job(ran.append, 1)
    on_thread(host.check_ints)
    assert ran == []
    [violation] = host.violations
    assert "host.check_ints called off the main thread" in violation.detail


def test_a_failing_job_is_recorded(vm):
    host, _ = vm
    host.register_postponed_job(lambda data: 1 / 0, None)
    host.check_ints()
    [violation] = host.violations
    assert "ZeroDivisionError" in violation.detail


def test_reading_caches_off_the_main_thread_is_a_violation(vm):
    host, _ = vm
    add = add_iseq(host)
    host.set_const("K", 1)
    m = host.define("m", [("getconst", 0), ("push", 1), ("call", 0, 2), ("ret",)],
                    calls=[add], consts=["K"])
    assert len(m.call_caches) == 1 and m.inline_storage[0].value == 1
    assert host.violations == []
    on_thread(lambda: m.call_caches)
    on_thread(lambda: m.inline_storage)
    on_thread(lambda: m.body.total_calls)   # the body is shared with the worker
    on_thread(lambda: host.iseqs_on_stack())
    details = [v.detail for v in host.violations]
    assert details == ["iseq.call_caches of 'm' read off the main thread",
                       "iseq.inline_storage of 'm' read off the main thread",
                       "host.iseqs_on_stack called off the main thread"]
    assert {v.thread for v in host.violations} == {"worker"}


def test_harness_calls_off_the_main_thread_are_errors(vm):
    host, _ = vm
    add = add_iseq(host)
    for fn in (lambda: host.call(add, 1, 2), lambda: host.define("x", [("push", 1), ("ret",)]),
               lambda: host.set_const("K", 1), host.new_class):
        error = on_thread(lambda fn=fn: _error_of(fn))
        assert "must be called on the host's main thread, not worker" in str(error)


def _error_of(fn) -> MjitError | None:
    try:
        fn()
    except MjitError as exc:
        return exc
    return None


def test_classes_register_their_serials(vm):
    host, engine = vm
    serial = host.new_class()
    assert serial in engine.serials and serial != host.default_class
    host.free_class(serial)
    assert serial not in engine.serials
    with pytest.raises(MjitError, match="not a live class serial"):
        host.free_class(serial)


def test_the_event_log_is_ordered_and_thread_safe(vm):
    host, _ = vm
    barrier = threading.Barrier(4)

    def spam():
        barrier.wait(30)
        for _ in range(200):
            host.register_postponed_job(len, ())

    threads = [threading.Thread(target=spam, name=f"t{i}") for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    events = host.events
    assert [e.seq for e in events] == list(range(800))
    assert host.pending_postponed_jobs == 800
