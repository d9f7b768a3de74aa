"""The suite, the benchmarks and the example engine use only the public face of pytest_mjit
(``pytest_mjit.testing``, ``pytest_mjit.contract``, ...); the project's own tests reach into a
private module only where they test that module (listed here, with why)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import pytest_mjit
import pytest_mjit.contract
import pytest_mjit.testing

ROOT = Path(__file__).resolve().parents[1]
#: Trees that use the public face only.
PUBLIC_ONLY = ("conformance", "bench", "examples", "mjit_ref")
#: Test files -> the private modules they test (or whose constants they shorten to test the
#: plugin's bounds quickly).
TESTS_OF_PRIVATE = {
    "tests/cmutants/__init__.py": {"pytest_mjit.cruby._build"},      # patches CRuby's sources
    "tests/hostile.py": {"pytest_mjit._presets", "pytest_mjit._watchdog"},   # short bounds
    "tests/test_campaigns.py": {"pytest_mjit.machines._campaign"},
    "tests/test_cengine.py": {"pytest_mjit._cengine"},
    "tests/test_host_maps.py": {"pytest_mjit.host._maps"},
    "tests/test_deadline_stack.py": {"pytest_mjit._watchdog", "pytest_mjit._hangs"},
    "tests/test_machines.py": {"pytest_mjit.machines._checks", "pytest_mjit.machines._rig"},
    "tests/test_plugin_broken_engines.py": {"pytest_mjit._fixtures"},    # a short finish bound
    "tests/test_plugin_bad_input.py": {"pytest_mjit._config", "pytest_mjit._options",
                                       "pytest_mjit._suite"},
    "tests/test_plugin_clauses.py": {"pytest_mjit._clauses", "pytest_mjit._suite"},
    "tests/test_plugin_crashes.py": {"pytest_mjit._report"},
    "tests/test_plugin_deadlines.py": {"pytest_mjit._engine_check"},
    "tests/test_plugin_fixtures.py": {"pytest_mjit._presets"},
    "tests/test_plugin_reasons.py": {"pytest_mjit._rig"},
    "tests/test_plugin_report.py": {"pytest_mjit._report", "pytest_mjit._fixtures"},
    "tests/test_shim.py": {"pytest_mjit._shim"},
    "tests/test_sync.py": {"pytest_mjit._sched", "pytest_mjit._schedules"},
}

_DOTTED = re.compile(r"\bpytest_mjit((?:\.\w+)+)")
_FROM = re.compile(r"\bfrom\s+(pytest_mjit(?:\.\w+)*)\s+import\s+(\([^)]*\)|[^\n]*)")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(text: str) -> set[str]:
    """The private modules (and private names of public ones) of pytest_mjit that ``text``
    names, in code or in a string of code: ``pytest_mjit._x``, ``from pytest_mjit import _x``."""
    found = set()
    for match in _DOTTED.finditer(text):
        parts = match.group(1).split(".")[1:]
        for i, part in enumerate(parts):
            if _private(part):
                found.add(".".join(["pytest_mjit", *parts[: i + 1]]))
                break
    for match in _FROM.finditer(text):
        names = re.findall(r"\b\w+\b(?:\s+as\s+\w+)?", match.group(2).strip("()"))
        for name in names:
            name = name.split()[0]
            if _private(name):
                found.add(f"{match.group(1)}.{name}")
    return found


def _sources(tree: str) -> list[Path]:
    return sorted(p for p in (ROOT / tree).rglob("*.py") if "__pycache__" not in p.parts)


def test_the_scan_sees_every_spelling():
    assert private_uses("from pytest_mjit._deadline import wait_for") == {"pytest_mjit._deadline"}
    assert private_uses("import pytest_mjit.host._maps as m") == {"pytest_mjit.host._maps"}
    assert private_uses('"from pytest_mjit import (_presets,\n  _watchdog as w)"') == {
        "pytest_mjit._presets", "pytest_mjit._watchdog"}
    assert private_uses("from pytest_mjit import __version__, testing\n"
                        "from pytest_mjit.testing import deadline") == set()


@pytest.mark.parametrize("tree", PUBLIC_ONLY)
def test_tree_uses_the_public_face_only(tree):
    uses = {str(p.relative_to(ROOT)): private_uses(p.read_text()) for p in _sources(tree)}
    assert {f: u for f, u in uses.items() if u} == {}


def test_tests_reach_only_into_the_private_modules_they_test():
    uses = {str(p.relative_to(ROOT)): private_uses(p.read_text()) for p in _sources("tests")
            if p != Path(__file__).resolve()}
    assert {f: u for f, u in uses.items() if u} == TESTS_OF_PRIVATE


def test_public_names_exist_and_do_not_clash():
    for module in (pytest_mjit, pytest_mjit.testing, pytest_mjit.contract):
        missing = [n for n in module.__all__ if not hasattr(module, n)]
        assert missing == [], f"{module.__name__}.__all__ names what it lacks: {missing}"
    assert "Host" not in pytest_mjit.__all__ and "Host" not in pytest_mjit.contract.__all__
    assert pytest_mjit.EngineHost is pytest_mjit.contract.EngineHost
