"""Run presets: how much Hypothesis explores and how long every harness wait may take."""

from __future__ import annotations

import dataclasses

__all__ = ["Preset", "PRESETS", "DEFAULT_PRESET"]


@dataclasses.dataclass(frozen=True)
class Preset:
    """The numbers one ``--mjit-preset`` stands for."""

    name: str
    max_examples: int         #: Hypothesis examples per property test
    stateful_step_count: int  #: Hypothesis steps per state-machine run
    deadline_scale: float     #: factor on every harness deadline (pytest_mjit._deadline)
    test_timeout: float       #: seconds one test (setup, call or teardown) may take, before scaling
    wait_timeout: float       #: Options.wait_timeout given to engines by the fixtures
    #: the protocol machines may queue a dozen methods in one step, enough to fill the cache
    #: and reach unloading (slower examples, and slower shrinking)
    fill_cache: bool = False
    #: strategy of the protocol machine's controlled schedule ("pct" or "random-walk")
    schedule: str = "pct"


PRESETS = {
    p.name: p for p in (
        Preset("quick", max_examples=10, stateful_step_count=10, deadline_scale=1.0,
               test_timeout=60.0, wait_timeout=5.0),
        Preset("default", max_examples=50, stateful_step_count=25, deadline_scale=2.0,
               test_timeout=60.0, wait_timeout=10.0),
        Preset("thorough", max_examples=300, stateful_step_count=50, deadline_scale=4.0,
               test_timeout=150.0, wait_timeout=20.0, fill_cache=True),
    )
}
DEFAULT_PRESET = "default"
