"""Scheduling strategies of a controlled run: random walk and PCT.

Both are fixed by a seed and a small bound, which the protocol machine draws through
Hypothesis: shrinking a failure lowers the bound, so the reported schedule has the fewest
context switches (random walk: preemptions; PCT: priority change points) that still fail."""

from __future__ import annotations

import dataclasses
import random
from typing import Callable

from ._errors import MjitError
from ._sched import ThreadRecord

__all__ = ["RandomWalk", "PCT", "ScheduleSpec", "STRATEGIES", "make_strategy"]

#: Strategy names a preset may choose.
STRATEGIES = ("random-walk", "pct")


class RandomWalk:
    """At each point the holder keeps the token unless the walk preempts it (probability
    ``p``, at most ``switches`` times); when the holder blocks, the next thread is uniform."""

    def __init__(self, seed: int, switches: int, p: float = 0.25) -> None:
        self.rng = random.Random(seed)
        self.left = switches
        self.p = p

    def new_thread(self, t: ThreadRecord) -> None:
        pass

    def choose(self, current: ThreadRecord | None, runnable: list[ThreadRecord],
               label: str) -> ThreadRecord:
        if current is None or current not in runnable:
            return runnable[self.rng.randrange(len(runnable))]
        others = [t for t in runnable if t is not current]
        if not others or self.left <= 0 or self.rng.random() >= self.p:
            return current
        self.left -= 1
        return others[self.rng.randrange(len(others))]


class PCT:
    """Probabilistic concurrency testing (Burckhardt et al. 2010): every thread gets a random
    priority; the highest-priority runnable thread runs; at ``depth - 1`` change points
    (drawn among the first ``horizon`` points that ``counts`` accepts) the running thread's
    priority drops below every initial one.  A bug of depth d is found with probability at
    least 1/(n k^(d-1)) for n threads and k counted points."""

    def __init__(self, seed: int, depth: int, horizon: int = 2000,
                 counts: Callable[[str], bool] | None = None) -> None:
        self.rng = random.Random(seed)
        self.changes = sorted(self.rng.sample(range(1, horizon), max(0, depth - 1)))
        self.counts = counts
        self.step = 0
        self.low = 0.0

    def new_thread(self, t: ThreadRecord) -> None:
        t.priority = 1.0 + self.rng.random()

    def choose(self, current: ThreadRecord | None, runnable: list[ThreadRecord],
               label: str) -> ThreadRecord:
        if self.counts is None or self.counts(label):
            self.step += 1
        if self.changes and self.step >= self.changes[0] and current is not None:
            self.changes.pop(0)
            self.low -= 1.0
            current.priority = self.low
        return max(runnable, key=lambda t: (t.priority, -t.index))


@dataclasses.dataclass(frozen=True)
class ScheduleSpec:
    """What fixes one controlled schedule: strategy, seed and bound."""

    strategy: str
    seed: int
    bound: int

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise MjitError(f"schedule strategy {self.strategy!r}: expected one of "
                            f"{', '.join(STRATEGIES)}")

    def __str__(self) -> str:
        what = "preemptions" if self.strategy == "random-walk" else "depth"
        return f"{self.strategy}(seed={self.seed}, {what}={self.bound})"


def make_strategy(spec: ScheduleSpec, counts: Callable[[str], bool] | None = None,
                  horizon: int = 2000) -> RandomWalk | PCT:
    """The strategy ``spec`` names; PCT places its change points among the first
    ``horizon`` points that ``counts`` accepts (every point by default)."""
    if spec.strategy == "random-walk":
        return RandomWalk(spec.seed, spec.bound)
    return PCT(spec.seed, spec.bound + 1, horizon, counts)
