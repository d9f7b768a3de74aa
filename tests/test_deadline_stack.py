"""The one stack of deadlines: an inner deadline works inside an outer one (shorter or longer),
an expiry while an expiry is being handled still meets the outer bound, a foreign timer is
kept, and the stack is left empty."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from pytest_mjit import MjitError
from pytest_mjit.testing import DeadlineExceeded, active_deadlines, deadline, scale

#: Seconds (scaled) a block may wait for a deadline that should have ended it long before.
NEVER = 20.0


def _hang(seconds: float = NEVER) -> None:
    """Sleep until a deadline interrupts; fail the test if none does within ``seconds``."""
    end = time.monotonic() + scale(seconds)
    while time.monotonic() < end:
        time.sleep(0.001)
    pytest.fail("no deadline ended the block")


@pytest.fixture(autouse=True)
def _empty_stack():
    assert active_deadlines() == [] and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    handler = signal.getsignal(signal.SIGALRM)
    yield
    assert active_deadlines() == [], "a deadline was left on the stack"
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0, "the timer was left armed"
    assert signal.getsignal(signal.SIGALRM) is handler


def test_shorter_inner_deadline_fires_and_the_outer_one_still_stands():
    with pytest.raises(DeadlineExceeded) as outer:
        with deadline(0.5, "outer block"):
            with pytest.raises(DeadlineExceeded) as inner:
                with deadline(0.05, "inner block"):
                    _hang()
            assert [what for what, _left in active_deadlines()] == ["outer block"]
            assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= scale(0.5)
            with deadline(0.05, "second inner block"):
                pass
            _hang()
    assert "expired: inner block" in str(inner.value)
    assert "thread stacks:" in str(inner.value) and "--- thread MainThread" in str(inner.value)
    assert "expired: outer block" in str(outer.value)


def test_longer_inner_deadline_cannot_extend_the_outer_one():
    with pytest.raises(DeadlineExceeded) as expired:
        with deadline(0.05, "outer block"):
            with deadline(NEVER, "inner block"):
                assert signal.getitimer(signal.ITIMER_REAL)[0] <= scale(0.05)
                _hang()
    assert "expired: outer block" in str(expired.value)
    assert "inner block" not in str(expired.value).splitlines()[0]


def test_expiry_while_handling_an_expiry_meets_the_outer_deadline():
    handled = []
    with pytest.raises(DeadlineExceeded) as outer:
        with deadline(0.3, "outer block"):
            try:
                with deadline(0.05, "inner block"):
                    _hang()
            except DeadlineExceeded as exc:
                handled.append(str(exc).splitlines()[0])
                _hang()             # the handling hangs too
    assert handled == [f"deadline of {scale(0.05):.1f}s expired: inner block"]
    assert "expired: outer block" in str(outer.value)


def test_expiry_in_an_inner_blocks_cleanup_meets_the_outer_deadline():
    with pytest.raises(DeadlineExceeded) as outer:
        with deadline(0.3, "outer block"):
            try:
                with deadline(0.05, "inner block"):
                    _hang()
            finally:
                _hang()
    assert "expired: outer block" in str(outer.value)
    assert isinstance(outer.value.__context__, DeadlineExceeded)
    assert "expired: inner block" in str(outer.value.__context__)


def test_extra_state_is_in_the_message():
    with pytest.raises(DeadlineExceeded) as expired:
        with deadline(0.05, "a block", extra=lambda: "the harness's view"):
            _hang()
    assert "the harness's view" in str(expired.value)


@pytest.fixture
def foreign_alarms():
    """A SIGALRM handler that is not the harness's, recording its calls; restored after."""
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    yield fired
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def _until(fired: list[int]) -> None:
    end = time.monotonic() + scale(NEVER)
    while not fired and time.monotonic() < end:
        time.sleep(0.001)


def test_a_foreign_timer_keeps_running_around_the_stack(foreign_alarms):
    handler = signal.getsignal(signal.SIGALRM)
    signal.setitimer(signal.ITIMER_REAL, scale(0.2))
    with deadline(NEVER, "a block"):
        assert signal.getsignal(signal.SIGALRM) is not handler
    assert signal.getsignal(signal.SIGALRM) is handler
    assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= scale(0.2)
    _until(foreign_alarms)
    assert foreign_alarms == [signal.SIGALRM]


def test_a_foreign_timer_due_inside_a_deadline_runs_its_handler(foreign_alarms):
    signal.setitimer(signal.ITIMER_REAL, scale(0.05))
    with deadline(NEVER, "a block"):
        _until(foreign_alarms)
    assert foreign_alarms == [signal.SIGALRM]


@pytest.fixture
def fresh_run():
    """A run of its own for ``_hangs``: no hang known yet, none left for the next test."""
    from pytest_mjit import _hangs
    _hangs.begin_run(None)
    yield _hangs
    _hangs.end_run()


def test_an_expired_block_with_hang_cuts_the_deadlines_after_it(fresh_run):
    with deadline(0.05, "a block without hang"):
        pass
    with pytest.raises(DeadlineExceeded):
        with deadline(0.05, "another block without hang"):
            _hang()
    assert fresh_run.first() is None
    with pytest.raises(DeadlineExceeded):
        with deadline(0.05, "engine.finish()", hang="engine.finish()"):
            _hang()
    assert fresh_run.first().startswith("engine.finish() did not return in ")
    with deadline(NEVER, "a client call"):
        assert signal.getitimer(signal.ITIMER_REAL)[0] <= scale(fresh_run.AFTER_HANG)
        assert "after a hang: engine.finish() did not return" in active_deadlines()[0][0]


def test_off_the_main_thread_is_one_clear_error():
    errors = []

    def run():
        try:
            with deadline(1.0, "a helper block"):
                pass
        except MjitError as exc:
            errors.append(str(exc))
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(scale(NEVER))
    assert not thread.is_alive()
    assert errors == ["deadline('a helper block') works on the main thread only (bound a "
                      "helper thread's waits with wait_for or join it with a timeout)"]


def test_watchdog_blocks_nest_and_rearm_the_outer_one():
    from pytest_mjit._watchdog import Watchdog
    watchdog, sent = Watchdog(), []
    watchdog._send = sent.append          # the lines the watchdog process would read
    with watchdog.armed(100.0, "outer"):
        with watchdog.armed(5.0, "inner"):
            pass
        with watchdog.armed(500.0, "longer inner"):
            pass
    said = [(line.split()[0], line.split()[2:]) for line in sent[:-1]] + [(sent[-1], [])]
    assert said == [("arm", ["outer"]), ("arm", ["inner"]), ("arm", ["outer"]),
                    ("arm", ["outer"]), ("arm", ["outer"]), ("disarm", [])]
    seconds = [float(line.split()[1]) for line in sent[:-1]]
    assert seconds[1] <= 5.0 and all(5.0 < s <= 100.0 for s in seconds[2:])


def test_a_block_without_a_sign_of_work_ends_after_the_quiet_time():
    with pytest.raises(DeadlineExceeded) as expired:
        with deadline(NEVER, "quiet block", busy=lambda: 0, quiet=0.05):
            _hang()
    assert f"cut after {scale(0.05):.1f}s without a sign of work: quiet block" in \
        str(expired.value)


def test_a_block_that_shows_work_goes_on_until_the_work_stops():
    calls = []

    def busy():
        calls.append(None)
        return min(len(calls), 4)    # changes three times, then stays

    with pytest.raises(DeadlineExceeded) as expired:
        with deadline(NEVER, "working block", busy=busy, quiet=0.02):
            _hang()
    assert len(calls) == 5    # at the start, then at each check until one finds no change
    assert "without a sign of work: working block" in str(expired.value)


def test_work_never_extends_a_block_past_its_limit():
    with pytest.raises(DeadlineExceeded) as expired:
        with deadline(0.2, "busy block", busy=object, quiet=0.02):
            _hang()
    assert f"deadline of {scale(0.2):.1f}s expired: busy block" in str(expired.value)
