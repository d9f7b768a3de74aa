"""The C mutants' items of the kill matrix, collected only when named (CRuby 2.7.4's checkout
must be at ``../shared/seeds/cruby-2.7.4`` on every machine that runs them)::

    python3 -m pytest tests/killmatrix/cmutants.py -n 2
    python3 -m pytest tests/killmatrix/matrix.py tests/killmatrix/cmutants.py -n 2

A whole-suite run of a C engine takes minutes (each C mutant is built first), so each C mutant
runs only the clauses of the areas its docstring says it breaks, and every test of them (no
early stop); the real C runs the union of those areas and its failures (documented
departures) count for nothing.  Rows go into docs/mutants.json under ``cmutants``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from tests import cmatrix
from tests.killmatrix._rows import c_names
from tests.killmatrix.conftest import ROW_PROPERTY, Settings
from tests.killmatrix.matrix import catches, row

CC = "gcc"


def test_creference(km_settings: Settings, tmp_path: Path,
                    record_property: Callable[[str, Any], None]) -> None:
    """The real C over every area a C mutant names (its failures catch no C mutant)."""
    names = c_names()
    if not names:
        pytest.skip("no CRuby checkout: no C mutants")
    areas = sorted({a for n in names for a in cmatrix.areas_of(n)})
    run = cmatrix.run_areas(None, areas, tmp_path / "report.json", CC, km_settings)
    record_property(ROW_PROPERTY, row("creference", "cruby", "areas", CC, run))
    assert not run.problem, f"the real C's run did not complete: {run.problem}\n{run.log[-3000:]}"


@pytest.mark.parametrize("cname", c_names())
def test_cmutant(cname: str, km_settings: Settings, tmp_path: Path,
                 record_property: Callable[[str, Any], None]) -> None:
    """The clauses of the areas the C mutant names catch it."""
    run = cmatrix.run_areas(cname, cmatrix.areas_of(cname), tmp_path / "report.json", CC,
                            km_settings)
    record_property(ROW_PROPERTY, row("cmutant", cname, "areas", CC, run))
    if catches(run, km_settings.cref_failing):
        return
    if cmatrix.gap_reason(cname):
        pytest.skip(f"suite gap: {cmatrix.gap_reason(cname)}")
    pytest.fail(f"{cname} is not caught" + (f" ({run.problem})" if run.problem else "")
                + "\n" + run.log[-3000:], pytrace=False)
