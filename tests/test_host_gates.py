"""Gates hold a thread at a point until released, and never forever."""

from __future__ import annotations

import io
import threading

import pytest
from test_host_support import add_iseq, make_host

from pytest_mjit import MjitError
from pytest_mjit.testing import DeadlineExceeded, set_scale, scale

@pytest.fixture
def vm():
    host, engine = make_host()
    with host:
        yield host, engine


def start_generate(host, engine, iseq, name="worker"):
    t = threading.Thread(target=host.generate_code,
                         args=(io.StringIO(), iseq, f"_mjit{iseq.id}", None, engine), name=name)
    t.start()
    return t


def test_a_gate_holds_the_thread_until_released(vm):
    host, engine = vm
    add = add_iseq(host)
    enter, leave = host.gate("generate_code:enter"), host.gate("generate_code:exit")
    t = start_generate(host, engine, add)
    enter.wait_reached()
    assert enter.thread == "worker" and not leave.reached
    assert [e.kind for e in host.events] == ["generate_code:enter"]
    enter.release()
    leave.wait_reached()
    assert [e.kind for e in host.events] == ["generate_code:enter"]
    leave.release()
    t.join(30)
    assert [e.kind for e in host.events] == ["generate_code:enter", "generate_code:exit"]
    assert host.violations == []


def test_a_gate_for_one_iseq_lets_others_pass(vm):
    host, engine = vm
    first, second = add_iseq(host), add_iseq(host)
    gate = host.gate("generate_code:enter", iseq=second)
    start_generate(host, engine, first).join(30)
    assert not gate.reached
    t = start_generate(host, engine, second)
    gate.wait_reached()
    gate.release()
    t.join(30)
    assert not t.is_alive()


def test_released_before_arrival_passes_and_release_all_opens_everything(vm):
    host, engine = vm
    add = add_iseq(host)
    early = host.gate("generate_code:enter")
    early.release()
    start_generate(host, engine, add).join(30)
    assert early.reached and early.released
    held = host.gate("postponed:register")
    t = threading.Thread(target=host.register_postponed_job, args=(len, ()))
    t.start()
    held.wait_reached()
    host.release_all()
    t.join(30)
    assert not t.is_alive() and host.pending_postponed_jobs == 1


def test_wait_reached_is_bounded(vm):
    host, _ = vm
    gate = host.gate("copy_caches")
    with pytest.raises(DeadlineExceeded, match="reach the gate 'copy_caches'"):
        gate.wait_reached(timeout=0.01)


def test_a_gate_never_released_lets_go_and_records_a_violation(vm):
    host, _ = vm
    gate = host.gate("postponed:register")
    old = scale(1.0)
    set_scale(0.0005)   # the 120 s safety deadline becomes 60 ms
    try:
        assert host.register_postponed_job(len, ()) is True
    finally:
        set_scale(old)
    assert gate.released
    [violation] = host.violations
    assert "gate 'postponed:register' was never released" in violation.detail


def test_unknown_points_are_refused(vm):
    host, _ = vm
    with pytest.raises(MjitError, match="unknown gate point 'compile'"):
        host.gate("compile")
