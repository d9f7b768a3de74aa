"""pytest_mjit.sync: threading's objects outside a controlled run; inside one, a schedule
fixed by the strategy, virtual timeouts, deadlock as a verdict, threads outside the run never
blocked, and fork children that cannot hang on a parent's lock."""

from __future__ import annotations

import os
import threading
import time

import pytest

from pytest_mjit import sync
from pytest_mjit.testing import DeadlineExceeded, deadline, wait_for
from pytest_mjit._sched import Scheduler
from pytest_mjit._schedules import PCT, RandomWalk, ScheduleSpec, is_window, make_strategy
from pytest_mjit import MjitError

def _run(body, strategy=None):
    """``body()`` as the first thread of a fresh controlled run; (result, scheduler)."""
    sched = Scheduler(strategy or RandomWalk(0, 0))
    with sync.controlled_run(sched):
        return body(), sched


def _lost_update():
    """Two threads increment a counter in two critical sections: a preemption between them
    loses an update.  Returns (final count, order of increments)."""
    lock = sync.Lock()
    state = {"n": 0, "order": []}

    def worker(i):
        for _ in range(3):
            with lock:
                seen = state["n"]
            sync.checkpoint("between")
            with lock:
                state["n"] = seen + 1
                state["order"].append(i)

    threads = [sync.Thread(target=worker, args=(i,), name=f"w{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return state["n"], tuple(state["order"])


def test_outside_a_run_they_are_threadings_own():
    assert type(sync.Lock()) is type(threading.Lock())
    assert type(sync.RLock()) is type(threading.RLock())
    assert isinstance(sync.Condition(), threading.Condition)
    assert isinstance(sync.Event(), threading.Event)
    seen = []
    t = sync.Thread(target=seen.append, args=(1,), name="plain")
    t.start()
    t.join(10)
    assert seen == [1] and not t.is_alive() and t.name == "plain"


@pytest.mark.parametrize("strategy", ["random-walk", "pct"])
def test_a_seed_fixes_the_schedule(strategy):
    outcomes = set()
    for seed in range(6):
        spec = ScheduleSpec(strategy, seed, 3)
        runs = [_run(_lost_update, make_strategy(spec, horizon=40)) for _ in range(3)]
        results = {(r, s.schedule[-1] if s.schedule else "", s.points) for r, s in runs}
        assert len(results) == 1, f"seed {seed} gave different schedules: {results}"
        outcomes.add(runs[0][0])
    assert len(outcomes) > 1, "every seed gave the same interleaving"
    assert any(n < 6 for n, _ in outcomes), "no seed found the lost update"


def test_bound_zero_never_preempts():
    for seed in range(4):
        (n, order), _ = _run(_lost_update, RandomWalk(seed, 0))
        assert n == 6 and order in ((0, 0, 0, 1, 1, 1), (1, 1, 1, 0, 0, 0))


def test_condition_and_event_under_control():
    def body():
        cond = sync.Condition(sync.Lock())
        ready = sync.Event()
        box = []

        def producer():
            with cond:
                box.append("x")
                cond.notify()
            ready.set()

        t = sync.Thread(target=producer, name="producer")
        with cond:
            t.start()
            assert cond.wait_for(lambda: box, timeout=5)
        assert ready.wait(5)
        t.join()
        # Nobody will set it: the timeout passes at once, virtually.
        start = time.monotonic()
        assert sync.Event().wait(30) is False
        assert time.monotonic() - start < 10
        return box

    box, sched = _run(body, PCT(3, 2))
    assert box == ["x"] and sched.points > 0


def test_deadlock_is_a_verdict_naming_what_each_thread_waits_for():
    def body():
        a, b = sync.Lock(), sync.Lock()
        b_taken = sync.Event()

        def other():
            with b:
                b_taken.set()
                with a:
                    pass

        t = sync.Thread(target=other, name="other")
        with a:
            t.start()
            b_taken.wait()
            with b:
                pass

    with pytest.raises(sync.Deadlock) as info:
        _run(body)
    assert set(info.value.waits) == {"MainThread", "other"}
    assert all("lock" in what for what in info.value.waits.values())
    wait_for(lambda: not any(t.name == "other" for t in threading.enumerate()), 10,
             "the deadlocked thread to end once the run stopped")


def test_a_thread_outside_the_run_is_counted_never_blocked():
    def body():
        lock = sync.Lock()
        taken, go = threading.Event(), threading.Event()

        def outsider():
            with lock:
                taken.set()
                go.wait(10)

        raw = threading.Thread(target=outsider, name="raw")
        raw.start()
        taken.wait(10)
        threading.Timer(0.05, go.set).start()
        with lock:      # held by a live thread outside the run: waited for, no verdict
            pass
        raw.join(10)

    _, sched = _run(body)
    assert sched.uncontrolled >= 2 and sched.deadlock is None


def test_api_errors_match_threading():
    def body():
        lock = sync.Lock()
        with pytest.raises(ValueError):
            lock.acquire(False, 1)
        with pytest.raises(RuntimeError):
            lock.release()
        with pytest.raises(RuntimeError):
            sync.Condition(lock).wait(0)
        rlock = sync.RLock()
        with rlock:
            with rlock:
                assert not lock.locked()
        assert lock.acquire(timeout=0) and not lock.acquire(timeout=0)
        lock.release()

    _run(body)
    with pytest.raises(MjitError):
        with sync.controlled_run(Scheduler(RandomWalk(0, 0))):
            with sync.controlled_run(Scheduler(RandomWalk(0, 0))):
                pass


def test_a_join_with_timeout_passes_virtually():
    def body():
        stop = sync.Event()
        t = sync.Thread(target=stop.wait, name="sleeper")
        t.start()
        t.join(0.01)
        alive = t.is_alive()
        stop.set()
        t.join()
        return alive, t.is_alive()

    (alive, after), _ = _run(body)
    assert alive and not after


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_fork_child_cannot_hang_on_a_lock_of_the_parent():
    """A lock held by a parent thread that does not exist in the child: the child's own
    controlled run ends with a deadlock verdict; outside a run the child gets threading's."""
    def body():
        lock, held, release = sync.Lock(), sync.Event(), sync.Event()

        def holder():
            with lock:
                held.set()
                release.wait()

        t = sync.Thread(target=holder, name="holder")
        t.start()
        held.wait()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                plain = type(sync.Lock()) is type(threading.Lock())
                try:
                    with sync.controlled_run(Scheduler(RandomWalk(0, 0))):
                        lock.acquire()
                except sync.Deadlock:
                    code = 0 if plain else 2
            finally:
                os._exit(code)
        release.set()
        t.join()
        return pid

    pid, _ = _run(body)
    status = []
    wait_for(lambda: status.append(os.waitpid(pid, os.WNOHANG)) or status[-1][0] == pid, 20,
             "the forked child to exit")
    assert os.waitstatus_to_exitcode(status[-1][1]) == 0


def test_a_deadlock_in_a_condition_wait_leaves_the_other_threads_lock_alone():
    """The verdict comes in ``wait``; the lock, now the other thread's, is not taken back
    nor released by the ``with`` block, and the other thread runs to its end."""
    done = []

    def body():
        cond, other = sync.Condition(sync.Lock()), sync.Lock()

        def holder():
            with cond:
                with other:         # main holds it while it waits: nobody notifies
                    done.append(True)

        with other:
            with cond:
                sync.Thread(target=holder, name="holder").start()
                cond.wait()

    with pytest.raises(sync.Deadlock) as info:
        _run(body)
    assert "a notify of condition" in info.value.waits["MainThread"]
    wait_for(lambda: done, 10, "the holder to finish once the run stopped")


_C_CALLBACKS = r"""
#include <pthread.h>
typedef void (*cb_t)(void);
int call_n(cb_t cb, int n) { for (int i = 0; i < n; i++) cb(); return n; }
static void *run(void *arg) { ((cb_t)arg)(); return 0; }
int call_on_new_thread(cb_t cb)
{
    pthread_t t;
    if (pthread_create(&t, 0, run, (void *)cb) != 0) return -1;
    return pthread_join(t, 0);
}
"""


@pytest.fixture(scope="module")
def c_callbacks(tmp_path_factory):
    import ctypes
    import shutil
    import subprocess
    cc = shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler")
    d = tmp_path_factory.mktemp("ccb")
    (d / "cb.c").write_text(_C_CALLBACKS)
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(d / "cb.so"), str(d / "cb.c"),
                    "-lpthread"], check=True, timeout=60)
    return ctypes.CDLL(str(d / "cb.so")), ctypes.CFUNCTYPE(None)


def test_c_code_calling_back_on_a_controlled_thread_is_scheduled(c_callbacks):
    """A sync.Thread that runs C which calls back into Python: the callbacks' lock and
    condition operations are scheduling points of that (controlled) thread."""
    lib, cbtype = c_callbacks

    def body():
        cond = sync.Condition(sync.Lock())
        count = [0]

        def bump():
            with cond:
                count[0] += 1
                cond.notify_all()

        cb = cbtype(bump)
        t = sync.Thread(target=lib.call_n, args=(cb, 3), name="c-worker")
        with cond:
            t.start()
            assert cond.wait_for(lambda: count[0] == 3)
        t.join()
        return count[0]

    n, sched = _run(body, PCT(5, 3, 30))
    assert n == 3 and sched.uncontrolled == 0 and sched.points > 6


def test_a_foreign_thread_calling_back_is_counted_never_blocked(c_callbacks):
    """A thread created by C calling back into Python is outside the run: its operations are
    the real ones, counted, and nothing is declared a deadlock while it lives."""
    lib, cbtype = c_callbacks

    def body():
        lock, seen = sync.Lock(), []

        def callback():
            with lock:
                seen.append(threading.get_ident())

        cb = cbtype(callback)
        assert lib.call_on_new_thread(cb) == 0
        return seen

    seen, sched = _run(body)
    assert len(seen) == 1 and seen[0] != threading.get_ident()
    assert sched.uncontrolled >= 2 and sched.deadlock is None


def _spin_until_the_worker_ran():
    """The first thread starts a worker and spins on a lock until the worker has run once
    (the shape of CRuby's stop_worker, which loops until the worker says it stopped)."""
    lock = sync.Lock()
    ran = []

    def worker():
        with lock:
            ran.append(True)

    thread = sync.Thread(target=worker, name="worker")
    thread.start()
    while True:
        with lock:
            if ran:
                break
    thread.join()
    return True


@pytest.mark.parametrize("strategy", [RandomWalk(0, 0), PCT(0, 1)], ids=["walk", "pct"])
def test_a_thread_spinning_on_another_lets_it_run(strategy):
    """With no preemption left, a spin-wait would hold the token for ever; a thread that
    passes SPIN points in a row while another could run is taken for a spinner and the
    others run, without spending the strategy's bound."""
    with deadline(60, "a spin-wait under a controlled run"):
        done, sched = _run(_spin_until_the_worker_ran, strategy)
    assert done and sched.fair_switches == 1 and sched.deadlock is None


def test_a_window_point_is_a_release_then_an_acquire_of_one_lock():
    assert is_window("release lock 3", "acquire lock 3")
    assert not is_window("release lock 3", "acquire lock 4")
    assert not is_window("acquire lock 3", "acquire lock 3")
    assert not is_window(None, "acquire lock 3")
    assert not is_window("release lock 3", "release lock 3")



def _check_then_act(windows: int = 1):
    """A worker checks a flag in one critical section and acts on it in a second; the first
    thread settles the worker (ending the loan at its ``windows``-th window point, or only
    where the strategy stops it with 0) and then sets the flag.  Returns whether the worker
    was stopped in between and whether it acted on a stale check."""
    lock = sync.Lock()
    state = {"stop": False, "stale": None}
    ready = sync.Event()

    def worker():
        ready.wait()
        with lock:
            seen = state["stop"]
        with lock:                     # the window is just before this acquire
            state["stale"] = seen != state["stop"]

    t = sync.Thread(target=worker, name="worker")
    t.start()
    ready.set()
    sched = sync.current_run()
    sched.settle(windows=windows)
    stopped = sched.windowed()
    with lock:
        state["stop"] = True
    t.join()
    return stopped, state["stale"]


def test_a_loan_can_end_at_a_window_point():
    """``settle(windows=1)`` takes the token back where the worker stands between its two
    critical sections: the first thread acts there, and the worker's stale check shows."""
    (stopped, stale), _ = _run(_check_then_act)
    assert stopped and stale


def test_window_stops_follow_the_schedules_window():
    """Settling plainly, a strategy whose window is 0 never stops the worker between its
    critical sections; with a window it stops it there for most seeds, the same ones every
    time."""
    def stops(window, seed):
        return _run(lambda: _check_then_act(0), PCT(seed, 1, stops=window))[0]
    assert not any(stops(0, seed)[0] for seed in range(20))
    runs = [stops(3, seed) for seed in range(20)]
    assert runs == [stops(3, seed) for seed in range(20)]
    # a window point is stopped at with chance 3/4 (elsewhere 1/8): most seeds stop there
    assert sum(1 for stopped, stale in runs if stopped and stale) >= 10, runs


def _spin_without_points(stop: threading.Event, spinning: threading.Event) -> None:
    """A controlled thread's busy loop that passes no scheduling point (it polls an Event
    of ``threading``, not of the run): it keeps the token until ``stop`` is set."""
    spinning.set()
    while not stop.is_set():
        pass


def test_a_deadline_expires_while_a_controlled_thread_spins():
    """The token holder spins where the scheduler cannot take the token back; the first
    thread, waiting for it in a join, is still freed by its deadline: ``DeadlineExceeded``
    in about the deadline's time (not the scheduler's own safety wait), naming the spinning
    thread's stack and the run's state.  Afterwards the run stops and the thread ends."""
    stop, spinning = threading.Event(), threading.Event()
    sched = Scheduler(RandomWalk(0, 0))
    thread = None
    start = time.monotonic()
    try:
        with pytest.raises(DeadlineExceeded) as caught:
            with sync.controlled_run(sched):
                thread = sync.Thread(target=_spin_without_points, args=(stop, spinning),
                                     name="spinner")
                thread.start()
                with deadline(1.0, "joining a spinning thread", sched.describe):
                    thread.join()
        took = time.monotonic() - start
        text = str(caught.value)
        assert "joining a spinning thread" in text
        assert "_spin_without_points" in text          # the spinner's stack
        assert "token with spinner" in text            # the run's state (Scheduler.describe)
        assert spinning.is_set() and took < 30, took
        assert not sched.active
    finally:
        stop.set()
        if thread is not None:
            thread.join(10)
    assert thread is not None and not thread.is_alive()


def _short_sleeps_beside_a_long_wait(sleeps: int = 50):
    """A worker waits on a condition with a 1 s timeout, in a loop, until told to stop; the
    first thread sleeps 1 ms ``sleeps`` times, then tells it.  Returns (the worker's
    timeouts, the run's virtual clock)."""
    lock = sync.Lock()
    cond = sync.Condition(lock)
    state = {"stop": False, "timeouts": 0}

    def worker():
        with lock:
            while not state["stop"]:
                if not cond.wait(1.0):
                    state["timeouts"] += 1

    thread = sync.Thread(target=worker, name="worker")
    thread.start()
    try:
        for _ in range(sleeps):
            sync.sleep(0.001)
    finally:
        with lock:
            state["stop"] = True
            cond.notify_all()
    thread.join()
    return state["timeouts"], sync.current_run().clock


@pytest.mark.parametrize("strategy", [RandomWalk(seed, 2) for seed in range(5)]
                         + [PCT(seed, 3) for seed in range(5)],
                         ids=[f"walk{s}" for s in range(5)] + [f"pct{s}" for s in range(5)])
def test_timed_waits_end_in_the_order_of_their_ends(strategy):
    """Whichever thread the strategy favours, a 1 ms sleep ends before a 1 s wait: the 50
    sleeps pass on the virtual clock (0.05 s) and the worker's wait never times out.
    (Choosing freely which timed wait ends let a favoured waiter time out again and again
    while the sleeper starved.)"""
    with deadline(30, "50 short sleeps beside a long wait"):
        (timeouts, clock), sched = _run(_short_sleeps_beside_a_long_wait, strategy)
    assert timeouts == 0 and clock == pytest.approx(0.05), (timeouts, clock)
    assert sched.deadlock is None and sched.uncontrolled == 0


def _spin_until_time_passed(abort: threading.Event, threads: list):
    """A worker spins on a lock until a flag is set (or ``abort``, which the test sets when
    it fails); the first thread sets the flag after a sleep.  Nothing but the spinner can run
    meanwhile."""
    lock = sync.Lock()
    flag = []

    def worker():
        while not abort.is_set():
            with lock:
                if flag:
                    return

    thread = sync.Thread(target=worker, name="spinner")
    threads.append(thread)
    thread.start()
    sync.sleep(0.01)
    with lock:
        flag.append(True)
    thread.join()
    return sync.current_run().clock


def test_a_spinning_thread_lets_time_pass():
    """A sleeper waits while the only other thread spins: after SPIN points time passes
    (as it would while a real thread spins), the sleep ends and the spin with it."""
    abort, threads = threading.Event(), []
    try:
        with deadline(20, "a spin beside a sleep under a controlled run"):
            clock, sched = _run(lambda: _spin_until_time_passed(abort, threads))
    finally:
        abort.set()
        for thread in threads:
            thread.join(10)
    assert clock == pytest.approx(0.01) and sched.fair_switches == 1 and sched.deadlock is None
    assert not any(thread.is_alive() for thread in threads)
