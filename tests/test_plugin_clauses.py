"""The clause registry agrees with PROTOCOL.md, docs/clauses.md and SUITE_HASH are current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_mjit import CAPABILITIES, _clauses, _suite
from pytest_mjit.clauses import clause_tests, markdown

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = ROOT.parent / "shared" / "PROTOCOL.md"
REGENERATE = "python -m pytest_mjit.clauses --markdown > docs/clauses.md"


def test_registry_is_well_formed():
    for clause in _clauses.CLAUSES.values():
        assert re.fullmatch(rf"{clause.area}-\d+", clause.id)
        assert clause.strength in "MSO" and clause.statement and clause.since == "0.1.0"
        assert clause.capability is None or clause.capability in CAPABILITIES
    assert {c.capability for c in _clauses.CLAUSES.values()} - {None} == CAPABILITIES
    assert [c.id for c in _clauses.select("FORK-*")] == [f"FORK-{n}" for n in range(1, 7)]


@pytest.mark.skipif(not PROTOCOL.exists(), reason="PROTOCOL.md is not beside the repository")
def test_registry_matches_protocol_ids_and_strengths():
    listed = set(re.findall(r"^- ([A-Z]+-\d+) ([MSO]) ", PROTOCOL.read_text(), re.M))
    assert listed == {(c.id, c.strength) for c in _clauses.CLAUSES.values()}


def test_docs_clauses_md_is_current():
    current = markdown(clause_tests(_suite.suite_dir()))
    assert (ROOT / "docs" / "clauses.md").read_text() == current, f"run: {REGENERATE}"


def test_suite_hash_is_current():
    assert _suite.recorded_hash() == _suite.suite_hash(), (
        "run: python -m pytest_mjit.clauses --write-suite-hash")
