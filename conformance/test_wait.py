"""Wait mode (--jit-wait): the call that queues a method waits for its code, bounded by
wait_timeout, and never waits for a worker that cannot compile."""

import time

import pytest

from pytest_mjit import JitState, is_compiled
from pytest_mjit.testing import STEP_WAIT, call_to_enqueue, deadline, define_affine, wait_for

from ._support import event_index, release_on_event


@pytest.mark.mjit_clause("WAIT-1")
def test_call_at_min_calls_runs_compiled_code(mjit_start):
    """The call that reaches min_calls already runs the compiled code."""
    host, engine = mjit_start(wait=True)
    m = define_affine(host, "m", 3)
    with deadline(STEP_WAIT, "the call that waits for compilation"):
        call_to_enqueue(host, m, host.options.min_calls, 5)
    assert is_compiled(m.body.jit_func)
    events = [e for e in host.events if e.iseq == m.id]
    enqueued = event_index(events, "enqueue")
    assert enqueued is not None
    # The same call: no other call of m between queueing and running compiled code.
    rest = [e.kind for e in events[enqueued + 1:]]
    assert "jit_call" in rest and "call" not in rest[:rest.index("jit_call")]
    assert host.call(m, 5) == host.interpret(m, 5)
    assert not host.violations


@pytest.mark.mjit_clause("WAIT-2")
@pytest.mark.mjit_options(wait=True, wait_timeout=1.0, warnings=True)
def test_wait_gives_up_after_timeout(mjit_start, mjit_cc, capfd):
    """With the compiler stuck, the waiting call gives up after wait_timeout: NOT_COMPILED,
    a warning, and the interpreter's result."""
    compile_hold = mjit_cc.hold(kind="compile")
    host, engine = mjit_start()
    # Past the header build, the waiting call has only the held compile to wait for.
    wait_for(lambda: all(not i.running for i in mjit_cc.invocations() if i.kind == "pch")
             and (mjit_cc.invocations() or "pch" not in engine.capabilities),
             STEP_WAIT, "the header build to end")
    m = define_affine(host, "m", 4)
    call_to_enqueue(host, m, host.options.min_calls - 1, 6)
    capfd.readouterr()
    start = time.monotonic()
    with deadline(STEP_WAIT, "the call that waits for a stuck compiler"):
        result = host.call(m, 6)
    elapsed = time.monotonic() - start
    assert compile_hold.reached, "the compiler was not running while the call waited"
    assert m.body.jit_func == JitState.NOT_COMPILED
    assert elapsed >= host.options.wait_timeout
    assert result == host.interpret(m, 6)
    assert "warning" in capfd.readouterr().err.lower()
    compile_hold.release()


@pytest.mark.mjit_clause("WAIT-3")
@pytest.mark.mjit_options(wait=True, wait_timeout=60.0)
def test_wait_returns_once_header_failed(mjit_start, mjit_cc):
    """A call waiting for compilation returns soon after the precompiled header failed,
    long before wait_timeout."""
    header = mjit_cc.hang(kind="pch")   # exits 1 once released: the header fails
    host, engine = mjit_start()
    if "pch" not in engine.capabilities:
        pytest.skip("the engine builds no precompiled header")
    header.wait_reached()
    m = define_affine(host, "m", 5)
    call_to_enqueue(host, m, host.options.min_calls - 1, 7)
    # The header fails only once the main thread waits in the call below.
    helper = release_on_event(host, "wait", header)
    with deadline(STEP_WAIT, "the waiting call after the header failed"):
        result = host.call(m, 7)
    helper.join()
    assert result == host.interpret(m, 7)
    assert not is_compiled(m.body.jit_func)
    assert not host.violations
