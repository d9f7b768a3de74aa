"""The report of one run: what it says about the run (engine, suite, compilers, seed,
timings) around the per-clause results."""

from __future__ import annotations

import time
from typing import Any

from . import __version__, _suite
from ._report import Results, build_report
from ._session import MjitSession

__all__ = ["make_report", "meta_of"]


def make_report(mjit: MjitSession, results: Results, start: float, interrupted: str | None,
                problems: list[str]) -> dict:
    """The finished run's report (``_report.build_report`` with ``meta_of``)."""
    meta = meta_of(mjit, results, start)
    caps = mjit.engine_info.get("capabilities") if mjit.engine_info else None
    return build_report(results, meta, mjit.settings.expect, caps, mjit.settings.clauses,
                        interrupted, problems)


def meta_of(mjit: MjitSession, results: Results, start: float) -> dict:
    """What the report says about the run, apart from its results."""
    s = mjit.settings
    info = mjit.engine_info or {}
    meta: dict[str, Any] = dict(
        engine=dict(spec=s.engine_spec, name=info.get("name", s.engine_spec),
                    version=info.get("version", "?"), capabilities=info.get("capabilities", [])),
        suite=dict(version=__version__, sha256=_suite.suite_hash(),
                   recorded_sha256=_suite.recorded_hash()),
        compilers=[dict(path=s.cc, family=s.cc_family, version=s.cc_version)],
        seed=s.seed, preset=s.preset.name,
        expect_file=str(s.expect_path) if s.expect_path else None,
        timings=dict(start=start, duration=round(time.time() - start, 3),
                     tests_duration=round(sum(t.duration for t in results.tests.values()), 3)),
    )
    meta["suite"]["unmodified"] = (meta["suite"]["sha256"] is not None
                                   and meta["suite"]["sha256"] == meta["suite"]["recorded_sha256"])
    return meta
