"""Running a protocol machine under Hypothesis: settings from the preset, the failure report
(steps, per-thread trace, one-line replay) and ``--mjit-replay`` values."""

from __future__ import annotations

import dataclasses
import re
import time
import unittest
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, reproduce_failure, settings
from hypothesis.errors import Flaky
from hypothesis.reporting import with_reporter
from hypothesis.stateful import get_state_machine_test

from .. import _hangs
from .._errors import MjitError
from ._campaign import close_database, database_key, round_seed
from ._machine import machine_class
from ._rig import RigConfig

__all__ = ["MachineRun", "run_machine", "parse_replay", "format_replay",
           "UnreproducedFinding"]


class UnreproducedFinding(UserWarning):
    """A free-running search failed once and Hypothesis could not make it fail again."""

_BLOB = re.compile(r"@reproduce_failure\('([^']+)', b'([^']+)'\)")
_STEPS = re.compile(r"protocol machine failed after (\d+) steps")


@dataclasses.dataclass
class MachineRun:
    """The outcome of one ``run_machine``."""

    examples: int
    steps: int                     #: steps run over all examples
    seconds: float
    uncontrolled: int              #: moves seen outside the schedule (all examples)
    compiles: int = 0              #: compiler runs of kind "compile" (all examples)
    compiler_seconds: float = 0.0  #: time the real compiler ran, every kind (all examples)
    unloads: int = 0               #: live methods whose code went away (all examples)
    full_cache_steps: int = 0      #: steps that ended with max_cache_size methods compiled
    seen: list[str] = dataclasses.field(default_factory=list)  #: first failures of the search
    error: BaseException | None = None
    report: str = ""               #: what Hypothesis reported (the shrunk steps, the blob)
    failing_steps: list[str] = dataclasses.field(default_factory=list)
    trace: str = ""
    replay: str | None = None      #: value for --mjit-replay
    rounds: int = 1                #: searches run (a campaign runs several)
    campaign: str = ""             #: how the run searched, when a campaign or database shaped it
    shrunk: bool = True            #: False when the failing steps are as replayed, not shrunk

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def clauses(self) -> tuple[str, ...]:
        """The clauses the failure is blamed on; empty when it names none (an unexpected
        error, or a problem no single clause covers): then every clause checked failed.
        A flaky failure is blamed on what each of its runs saw."""
        errors = list(getattr(self.error, "exceptions", ())) or [self.error]
        found: list[str] = []
        for error in errors:
            named = getattr(error, "clauses", ())
            if not named:
                return ()
            found += [c for c in named if c not in found]
        return tuple(found)

    @property
    def reproduced(self) -> bool:
        """False for a failure Hypothesis saw once and could not reproduce (``Flaky``)."""
        return self.error is not None and not isinstance(self.error, Flaky)

    @property
    def reported_steps(self) -> int | None:
        """The step count stated in the failure message."""
        m = _STEPS.search(str(self.error)) if self.error is not None else None
        return int(m.group(1)) if m else None

    def describe(self) -> str:
        """The failure report: error, shrunk steps, per-thread trace and the replay line."""
        searched = (f"{self.campaign}: {self.rounds} round(s)" if self.campaign else "")
        if not self.failed:
            return (f"protocol machine: {self.examples} examples, {self.steps} steps, "
                    f"{self.compiles} unit compiles, {self.full_cache_steps} steps with a "
                    f"full cache, {self.unloads} unloads, {self.seconds:.1f}s "
                    f"({self.compiler_seconds:.1f}s of it in the compiler), "
                    f"{self.uncontrolled} uncontrolled moves"
                    + (f"\n{searched}" if searched else ""))
        lines = [f"{type(self.error).__name__}: {self.error}"]
        if searched:
            lines.append(searched)
        if self.clauses:
            lines.append(f"failed clause(s): {', '.join(self.clauses)}")
        for sub in getattr(self.error, "exceptions", ()):
            # A flaky failure: what the first run saw, which the replay did not reproduce.
            lines.append(f"  seen: {type(sub).__name__}: {str(sub).splitlines()[0][:400]}")
        lines += [f"  first failures of the search: {f}" for f in self.seen[:3]]
        lines += ["", "steps (shrunk):" if self.shrunk else "steps (not shrunk):"]
        lines += [f"  {n}. {s}" for n, s in enumerate(self.failing_steps, 1)]
        lines += ["", "trace (one lane per thread):", self.trace, ""]
        lines.append(f"replay: --mjit-replay={self.replay}" if self.replay else
                     "replay: rerun with the same --mjit-seed (no Hypothesis blob was reported)")
        return "\n".join(lines)


def parse_replay(value: str) -> tuple[str, bytes]:
    """``VERSION:BLOB`` (as printed in a failure report) -> arguments of reproduce_failure."""
    version, sep, blob = value.partition(":")
    if not sep or not version or not blob:
        raise MjitError(f"--mjit-replay={value}: expected VERSION:BLOB as printed in a "
                        "protocol machine's failure report")
    return version, blob.encode()


def format_replay(version: str, blob: str) -> str:
    return f"{version}:{blob}"


def run_machine(config: RigConfig, *, controlled: bool = True, max_examples: int | None = None,
                step_count: int | None = None, replay: str | None = None,
                seed: int | None = None, shrink: bool = True) -> MachineRun:
    """Run the protocol machine against ``config``'s engine; never raises for a failure of
    the engine (see ``MachineRun.error``).  Counts default to the preset's.  With
    ``config.campaign`` the search uses its example database and time budget
    (``_campaign.py``); a ``replay`` blob replays that one failure and nothing else.
    ``shrink=False`` reports a failure as found (whether a search finds a bug, fast)."""
    campaign = config.campaign
    if campaign is None or replay is not None:
        return _search(config, controlled, max_examples, step_count, replay, seed,
                       shrink=shrink)
    database = campaign.database.open() if campaign.database is not None else None
    key = database_key(config.engine_name, controlled, config.preset.name)
    try:
        if campaign.replay_only:
            run = _search(config, controlled, max_examples, step_count, None, seed,
                          database=(database, key), generate=False)
        elif campaign.seconds is None:
            run = _search(config, controlled, max_examples, step_count, None, seed,
                          database=(database, key))
        else:
            run = _rounds(config, controlled, max_examples, step_count, seed, database, key,
                          campaign.seconds, campaign.seed, campaign.worker)
    finally:
        close_database(database)
    run.campaign = campaign.describe()
    return run


def _rounds(config: RigConfig, controlled: bool, max_examples: int | None,
            step_count: int | None, seed: int | None, database: Any, key: bytes,
            seconds: float, run_seed: int, worker: int) -> MachineRun:
    """Searches from seed after seed until ``seconds`` are spent or one fails; each round
    first replays what the database holds (what other workers found meanwhile).  A round is
    cut to the examples that fit in the time left, at the rate of the round before."""
    base = seed if seed is not None else run_seed
    size = max_examples or config.preset.max_examples
    end = time.monotonic() + seconds
    total: MachineRun | None = None
    n = 0
    while True:
        run = _search(config, controlled, size, step_count, None,
                      round_seed(base, worker, n), database=(database, key))
        total = run if total is None else _merge(total, run)
        n += 1
        left = end - time.monotonic()
        if run.failed or left <= 0 or _hangs.first() is not None:
            break
        per_example = run.seconds / max(1, run.examples)
        size = max(1, min(max_examples or config.preset.max_examples, int(left / per_example)))
    total.rounds = n
    return total


def _merge(before: MachineRun, after: MachineRun) -> MachineRun:
    """Two rounds as one run: counts added, the failure (if any) of the later round."""
    return dataclasses.replace(
        after, examples=before.examples + after.examples, steps=before.steps + after.steps,
        seconds=before.seconds + after.seconds,
        uncontrolled=before.uncontrolled + after.uncontrolled,
        compiles=before.compiles + after.compiles, unloads=before.unloads + after.unloads,
        compiler_seconds=before.compiler_seconds + after.compiler_seconds,
        full_cache_steps=before.full_cache_steps + after.full_cache_steps,
        seen=(before.seen + after.seen)[:5])


def _search(config: RigConfig, controlled: bool, max_examples: int | None,
            step_count: int | None, replay: str | None, seed: int | None, *,
            database: tuple[Any, bytes] | None = None, generate: bool = True,
            shrink: bool = True) -> MachineRun:
    """One Hypothesis search (or one replay); ``database`` is (ExampleDatabase, key), and
    without ``generate`` only what it holds runs."""
    preset = config.preset
    cls = machine_class(config, controlled=controlled)
    # An engine known to hang would meet the hang in every example of a search or a shrink:
    # one example tells.
    hung = _hangs.first() is not None and replay is None
    phases = [Phase.explicit, Phase.reuse] + ([Phase.generate] if generate else [])
    if generate and shrink and not hung:
        phases.append(Phase.shrink)
    test_settings = settings(
        max_examples=1 if hung else max_examples or preset.max_examples,
        stateful_step_count=step_count or preset.stateful_step_count,
        deadline=None, database=database[0] if database else None, print_blob=True,
        report_multiple_bugs=False, suppress_health_check=list(HealthCheck), phases=phases,
    )
    test = get_state_machine_test(cls, settings=test_settings)
    if database is not None:
        # Not Hypothesis's digest of the machine class (made anew per run, and dropped
        # altogether under the plugin's forced seed): the engine, machine and preset.
        test._hypothesis_internal_database_key = database[1]
    if replay is not None:
        test = reproduce_failure(*parse_replay(replay))(test)
    if seed is not None and database is not None:
        # What @hypothesis.seed sets, without the database=None it adds.
        test._hypothesis_internal_use_seed = seed
    elif seed is not None:
        test = hypothesis.seed(seed)(test)
    reported: list[str] = []
    start = time.monotonic()
    error: BaseException | None = None
    with with_reporter(lambda value: reported.append(str(value))):
        try:
            test()
        except unittest.SkipTest:
            if generate:
                raise
            # only replaying, and the database holds nothing for this machine: nothing failed
        except Exception as exc:  # the engine's failure, reported to the caller
            error = exc
    run = MachineRun(examples=cls.examples, steps=cls.total_steps,
                     seconds=time.monotonic() - start, uncontrolled=_uncontrolled(cls),
                     compiles=cls.compiles, compiler_seconds=cls.compiler_seconds,
                     unloads=cls.unloads,
                     full_cache_steps=cls.full_cache_steps, seen=list(cls.failures_seen),
                     error=error, report="\n".join(map(str, reported + _notes(error))),
                     shrunk=Phase.shrink in phases)
    if error is not None:
        last = cls.last
        if last is not None:
            run.failing_steps = list(last.trace.steps)
            run.trace = last.render()
        m = _BLOB.search(run.report)
        if m:
            run.replay = format_replay(m.group(1), m.group(2))
        elif replay is not None:
            run.replay = replay
    return run


def _notes(error: BaseException | None) -> list[str]:
    """Hypothesis adds the falsifying steps and the reproduce_failure blob as notes."""
    return [str(n) for n in getattr(error, "__notes__", ())] if error is not None else []


def _uncontrolled(cls: Any) -> int:
    return cls.uncontrolled_total
