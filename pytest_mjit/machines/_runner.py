"""Running a protocol machine under Hypothesis: settings from the preset, the failure report
(steps, per-thread trace, one-line replay) and ``--mjit-replay`` values."""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, reproduce_failure, settings
from hypothesis.errors import Flaky
from hypothesis.reporting import with_reporter
from hypothesis.stateful import get_state_machine_test

from .. import _hangs
from .._errors import MjitError
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
    unloads: int = 0               #: live methods whose code went away (all examples)
    full_cache_steps: int = 0      #: steps that ended with max_cache_size methods compiled
    seen: list[str] = dataclasses.field(default_factory=list)  #: first failures of the search
    error: BaseException | None = None
    report: str = ""               #: what Hypothesis reported (the shrunk steps, the blob)
    failing_steps: list[str] = dataclasses.field(default_factory=list)
    trace: str = ""
    replay: str | None = None      #: value for --mjit-replay

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
        if not self.failed:
            return (f"protocol machine: {self.examples} examples, {self.steps} steps, "
                    f"{self.compiles} unit compiles, {self.full_cache_steps} steps with a "
                    f"full cache, {self.unloads} unloads, {self.seconds:.1f}s, "
                    f"{self.uncontrolled} uncontrolled moves")
        lines = [f"{type(self.error).__name__}: {self.error}"]
        if self.clauses:
            lines.append(f"failed clause(s): {', '.join(self.clauses)}")
        for sub in getattr(self.error, "exceptions", ()):
            # A flaky failure: what the first run saw, which the replay did not reproduce.
            lines.append(f"  seen: {type(sub).__name__}: {str(sub).splitlines()[0][:400]}")
        lines += [f"  first failures of the search: {f}" for f in self.seen[:3]]
        lines += ["", "steps (shrunk):"]
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
                seed: int | None = None) -> MachineRun:
    """Run the protocol machine against ``config``'s engine; never raises for a failure of
    the engine (see ``MachineRun.error``).  Counts default to the preset's."""
    preset = config.preset
    cls = machine_class(config, controlled=controlled)
    # An engine known to hang would meet the hang in every example of a search or a shrink:
    # one example tells.
    hung = _hangs.first() is not None and replay is None
    test_settings = settings(
        max_examples=1 if hung else max_examples or preset.max_examples,
        stateful_step_count=step_count or preset.stateful_step_count,
        deadline=None, database=None, print_blob=True, report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.reuse, Phase.generate] + ([] if hung else [Phase.shrink]),
    )
    test = get_state_machine_test(cls, settings=test_settings)
    if replay is not None:
        test = reproduce_failure(*parse_replay(replay))(test)
    if seed is not None:
        test = hypothesis.seed(seed)(test)
    reported: list[str] = []
    start = time.monotonic()
    error: BaseException | None = None
    with with_reporter(lambda value: reported.append(str(value))):
        try:
            test()
        except Exception as exc:  # the engine's failure, reported to the caller
            error = exc
    run = MachineRun(examples=cls.examples, steps=cls.total_steps,
                     seconds=time.monotonic() - start, uncontrolled=_uncontrolled(cls),
                     compiles=cls.compiles, unloads=cls.unloads,
                     full_cache_steps=cls.full_cache_steps, seen=list(cls.failures_seen),
                     error=error, report="\n".join(map(str, reported + _notes(error))))
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
