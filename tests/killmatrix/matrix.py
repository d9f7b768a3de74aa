"""The items of the kill matrix: collected only when named,
``python3 -m pytest tests/killmatrix/matrix.py [-n 2 | --tx ...] [--km-full]``.

Each item runs the suite in a pytest process of its own and sends its row to the controller
as a user property (see conftest.py); the reference engine's items come first, as the longest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_mjit.clauses import suite_dir
from tests.killmatrix._meta import (CATCHING, compilers_of, declared_clauses, engine_spec,
                                    equivalent_reason, mutant_names)
from tests.killmatrix._rows import reference_areas
from tests.killmatrix._run import SuiteRun, run_suite
from tests.killmatrix.conftest import ROW_PROPERTY, Settings

#: Lines of a run's log kept in its row (shown when a run did not complete).
LOG_TAIL = 40


def row(kind: str, name: str, mode: str, cc: str, run: SuiteRun) -> str:
    """The row an item sends: what its run found, as JSON."""
    return json.dumps(dict(kind=kind, name=name, mode=mode, cc=cc,
                           run=dict(returncode=run.returncode, timed_out=run.timed_out,
                                    duration=round(run.duration, 1), problem=run.problem,
                                    tests=run.tests),
                           log_tail="\n".join(run.log.splitlines()[-LOG_TAIL:])))


def catches(run: SuiteRun, ref_failing: tuple[str, ...]) -> list[str]:
    """Tests of ``run`` that caught the engine, except those failing against the reference."""
    return sorted(n for n, t in run.tests.items()
                  if t["status"] in CATCHING and n not in ref_failing)


@pytest.mark.parametrize("area", reference_areas())
def test_reference(area: str, km_settings: Settings, tmp_path: Path,
                   record_property: Callable[[str, Any], None]) -> None:
    """The reference engine passes every test of one conformance file (a test failing here
    catches no mutant)."""
    root = suite_dir()
    assert root is not None, "the conformance package is not importable"
    run = run_suite(engine_spec(None), tmp_path / "report.json", "gcc", km_settings.timeout,
                    tests=[str(root / area)], idle=km_settings.idle)
    record_property(ROW_PROPERTY, row("reference", area, km_settings.mode, "gcc", run))
    failing = catches(run, ())
    assert not run.problem and not failing, (
        f"the reference engine {run.problem or 'fails ' + ', '.join(failing)}\n"
        + run.log[-3000:])


@pytest.mark.parametrize("name", mutant_names())
def test_mutant(name: str, km_settings: Settings, tmp_path: Path,
                record_property: Callable[[str, Any], None]) -> None:
    """The suite catches the mutant: in a fast session, the tests of the clauses it declares
    it breaks run first and the run stops at the first catch."""
    extra: tuple[str, ...] = tuple(f"--deselect={t}" for t in km_settings.ref_failing)
    if km_settings.mode == "fast":
        extra += ("-x", "-p", "tests.killmatrix._order",
                  "--km-focus=" + ",".join(declared_clauses(name)))
    for cc in compilers_of(name):
        run = run_suite(engine_spec(name), tmp_path / f"{cc}.json", cc, km_settings.timeout,
                        idle=km_settings.idle, extra=extra)
        if catches(run, km_settings.ref_failing) or run.timed_out:
            break
    record_property(ROW_PROPERTY, row("mutant", name, km_settings.mode, cc, run))
    if catches(run, km_settings.ref_failing):
        return
    if equivalent_reason(name):
        pytest.skip(f"equivalent mutant: {equivalent_reason(name)}")
    pytest.fail(f"{name} is not caught with {' or '.join(compilers_of(name))}"
                + (f" ({run.problem})" if run.problem else "") + "\n" + run.log[-3000:],
                pytrace=False)
