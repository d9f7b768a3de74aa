"""host.fork: MRI's fork sequence around the engine, and a child that is always reaped."""

from __future__ import annotations

import os
import signal
import threading

import pytest
from test_host_support import add_iseq, make_host


@pytest.fixture
def vm():
    host, engine = make_host()
    with host:
        yield host, engine


def test_the_fork_sequence(vm):
    host, engine = vm
    add = add_iseq(host)
    parent_main = host.main_thread_id

    def child(h):
        return {"calls": engine.names(), "result": h.call(add, 2, 3), "pid": os.getpid(),
                "main_is_me": h.main_thread_id == threading.get_ident()}

    res = host.fork(child, timeout=60)
    assert res.error is None and res.exit_status == 0
    assert res.result["calls"] == ["pause", "child_after_fork"]
    assert res.result["result"] == 5 and res.result["main_is_me"]
    assert res.result["pid"] == res.child_pid != os.getpid()
    assert engine.calls == [("pause", False), ("resume",)]
    assert host.main_thread_id == parent_main
    assert [e.kind for e in host.events_of("fork")] == ["fork"]
    with pytest.raises(ChildProcessError):
        os.waitpid(res.child_pid, os.WNOHANG)   # already reaped


def test_the_child_finishes_the_engine_unless_it_did(vm):
    host, engine = vm
    res = host.fork(lambda h: engine.finish() or engine.names(), timeout=60)
    assert res.result.count("finish") == 1
    # Without its own finish, the host finishes the engine in the child after child_fn.
    res = host.fork(lambda h: None, timeout=60)
    assert res.error is None
    assert engine.enabled and engine.names().count("finish") == 0   # not in the parent


def test_a_failing_child_reports_its_traceback(vm):
    host, _ = vm

    def child(h):
        raise SystemExit("the child may not run the parent's teardown")

    res = host.fork(child, timeout=60)
    assert res.exit_status == 1 and res.result is None
    assert "SystemExit: the child may not run the parent's teardown" in res.error


def test_an_unpicklable_result_is_an_error(vm):
    host, _ = vm
    res = host.fork(lambda h: threading.Lock(), timeout=60)
    assert res.result is None and "not picklable" in res.error


def test_a_stuck_child_is_killed_at_its_deadline(vm):
    host, engine = vm

    def child(h):
        threading.Event().wait()   # never set: the child hangs

    res = host.fork(child, timeout=0.5)
    assert res.exit_status == -signal.SIGKILL
    assert "killed after its deadline" in res.error
    assert engine.names() == ["pause", "resume"]
