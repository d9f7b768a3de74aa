"""Scheduling strategies of a controlled run (random walk and PCT), and what they see: the
scheduler's record of each controlled thread.

Both are fixed by a seed and a small bound, which the protocol machine draws through
Hypothesis: shrinking a failure lowers the bound, so the reported schedule has the fewest
context switches (random walk: preemptions; PCT: priority change points) that still fail."""

from __future__ import annotations

import dataclasses
import random
from typing import TYPE_CHECKING, Any, Callable, Protocol

from ._errors import MjitError

if TYPE_CHECKING:
    from ._sched import Scheduler

__all__ = ["RandomWalk", "PCT", "ScheduleSpec", "STRATEGIES", "make_strategy", "Deadlock",
           "Strategy", "ThreadRecord"]

class Deadlock(MjitError):
    """Every controlled thread waits and nothing can wake any of them."""

    def __init__(self, waits: dict[str, str], schedule: list[str]) -> None:
        self.waits = dict(waits)
        self.schedule = list(schedule)
        lines = [f"  {name} waits for {what}" for name, what in self.waits.items()]
        super().__init__("deadlock: every controlled thread is blocked\n" + "\n".join(lines))


class ThreadRecord:
    """What the scheduler knows about one controlled thread."""

    __slots__ = ("index", "name", "ident", "state", "waits", "what", "until", "wake",
                 "priority", "release", "sched", "parked", "windowed", "last")

    def __init__(self, sched: "Scheduler", index: int, name: str) -> None:
        self.sched, self.index, self.name = sched, index, name
        self.ident: int | None = None
        self.state = "ready"
        self.waits: Any = None        #: the resource a blocked thread waits for
        self.what = ""                #: readable form of it
        self.until: float | None = None   #: a timed wait's end on the run's virtual clock
        self.wake: str | None = None  #: how a block ended: woken, timeout, stopped, deadlock
        self.priority = 0.0           #: for strategies that order threads
        self.release: Callable[[], None] | None = None   #: lets an external point go
        self.parked = False           #: stopped at a protocol point (see Scheduler)
        self.windowed = False         #: stopped between two operations by the strategy
        self.last: str | None = None  #: the label of its previous scheduling point

    @property
    def timed(self) -> bool:
        """A blocked thread whose wait may end by time passing."""
        return self.until is not None

    def __repr__(self) -> str:
        return f"<{self.name} {self.state}{' ' + self.what if self.what else ''}>"


class Strategy(Protocol):
    """Decides at scheduling points.  ``tick`` is called at every point of the token holder
    and says whether to preempt it there (``lent``: the holder runs on a token the first
    thread lent; preempting it gives the token back and leaves it stopped there, which may
    be between two critical sections: each strategy does that at most ``stops`` times);
    ``choose`` picks the next thread among ``runnable`` (``current`` is the holder, if it
    may go on, and ``preempt`` what ``tick`` said); ``demote`` is told of a thread caught
    spinning, which must now let the others go first."""

    def new_thread(self, t: ThreadRecord) -> None: ...

    def tick(self, t: ThreadRecord, label: str, lent: bool) -> bool: ...

    def choose(self, current: ThreadRecord | None, runnable: list[ThreadRecord],
               preempt: bool) -> ThreadRecord: ...

    def demote(self, t: ThreadRecord) -> None: ...


#: Strategy names a preset may choose.
STRATEGIES = ("random-walk", "pct")


#: The chance that a lent token is taken back at a given point, while stops are left.
LOAN_STOP = 1 / 8
#: The chance at a window point, per unit of the schedule's ``window``: a thread about to
#: take again the lock it released at its last point stands between two critical sections,
#: where window bugs live (a check made in the first and trusted in the second, a flag read
#: between them).  Not limited in number: every host action may meet a thread there.
WINDOW_STOP = 1 / 4


def is_window(last: str | None, label: str) -> bool:
    """True if a thread whose previous scheduling point was ``last`` stands, at ``label``,
    between two critical sections of one lock (``release L`` then ``acquire L``)."""
    return (last is not None and label.startswith("acquire ") and last.startswith("release ")
            and last[len("release "):] == label[len("acquire "):])


def _stop_loan(strategy: "RandomWalk | PCT", t: ThreadRecord, label: str, lent: bool) -> bool:
    """Whether to end a loan at ``t``'s point ``label``: at a window point with a chance
    that grows with the schedule's ``window``; elsewhere at most ``window`` times a run."""
    if not lent or strategy.window <= 0:
        return False
    if is_window(t.last, label):
        return strategy.rng.random() < WINDOW_STOP * strategy.window
    if strategy.stops <= 0 or strategy.rng.random() >= LOAN_STOP:
        return False
    strategy.stops -= 1
    return True


class RandomWalk:
    """At each point the holder is preempted with probability ``p``, at most ``switches``
    times; the next thread is then uniform among the others (and uniform among all runnable
    when the holder waits)."""

    def __init__(self, seed: int, switches: int, p: float = 1 / 16, stops: int = 0) -> None:
        self.rng = random.Random(seed)
        self.window = self.stops = stops
        self.left = switches
        self.p = p

    def new_thread(self, t: ThreadRecord) -> None:
        pass

    def tick(self, t: ThreadRecord, label: str, lent: bool) -> bool:
        if _stop_loan(self, t, label, lent):
            return True
        if self.left <= 0 or self.rng.random() >= self.p:
            return False
        self.left -= 1
        return True

    def choose(self, current: ThreadRecord | None, runnable: list[ThreadRecord],
               preempt: bool) -> ThreadRecord:
        if current is not None and current in runnable:
            others = [t for t in runnable if t is not current]
            if not preempt or not others:
                return current
            runnable = others
        return runnable[self.rng.randrange(len(runnable))]

    def demote(self, t: ThreadRecord) -> None:
        pass                            # the next thread is drawn among the others anyway


class PCT:
    """Probabilistic concurrency testing (Burckhardt et al. 2010): every thread gets a random
    priority; the highest-priority runnable thread runs; at ``depth - 1`` change points
    (drawn among the first ``horizon`` scheduling points) the running thread's priority
    drops below every initial one.  A bug of depth d is found with probability at least
    1/(n k^(d-1)) for n threads and k points."""

    def __init__(self, seed: int, depth: int, horizon: int = 2000, stops: int = 0) -> None:
        self.rng = random.Random(seed)
        self.window = self.stops = stops
        self.changes = sorted(self.rng.sample(range(1, horizon), max(0, depth - 1)))
        self.step = 0
        self.low = 0.0

    def new_thread(self, t: ThreadRecord) -> None:
        # The first thread (the harness's) starts highest: the others move when it waits or
        # lends them the token, until a change point demotes it.
        t.priority = 3.0 if t.index == 0 else 1.0 + self.rng.random()

    def tick(self, t: ThreadRecord, label: str, lent: bool) -> bool:
        if _stop_loan(self, t, label, lent):
            return True
        self.step += 1
        if not self.changes or self.step < self.changes[0]:
            return False
        self.changes.pop(0)
        self.demote(t)
        return True

    def choose(self, current: ThreadRecord | None, runnable: list[ThreadRecord],
               preempt: bool) -> ThreadRecord:
        return max(runnable, key=lambda t: (t.priority, -t.index))

    def demote(self, t: ThreadRecord) -> None:
        # As at a change point, but drawn from no budget: a spinning thread that kept its
        # priority would take the token straight back.
        self.low -= 1.0
        t.priority = self.low


@dataclasses.dataclass(frozen=True)
class ScheduleSpec:
    """What fixes one controlled schedule: strategy, seed and bound."""

    strategy: str
    seed: int
    bound: int
    window: int = 0     #: how many times a lent token may be taken back between two points

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise MjitError(f"schedule strategy {self.strategy!r}: expected one of "
                            f"{', '.join(STRATEGIES)}")

    def __str__(self) -> str:
        what = "preemptions" if self.strategy == "random-walk" else "depth"
        return f"{self.strategy}(seed={self.seed}, {what}={self.bound}, window={self.window})"


def make_strategy(spec: ScheduleSpec, horizon: int = 2000) -> RandomWalk | PCT:
    """The strategy ``spec`` names; PCT places its change points among the first
    ``horizon`` scheduling points."""
    if spec.strategy == "random-walk":
        return RandomWalk(spec.seed, spec.bound, stops=spec.window)
    return PCT(spec.seed, spec.bound + 1, horizon, stops=spec.window)
