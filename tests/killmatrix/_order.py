"""Plugin of the suite's own process in a fast kill-matrix run: the tests most likely to catch
the mutant run first, so that ``-x`` stops the run at the first catch.

``--km-focus=QUEUE-6,PCH-7`` (the clauses the mutant declares it breaks) orders the selected
tests: first those tagged with a focus clause, then those of a focus clause's area (QUEUE-*,
PCH-*), then every other test, and the protocol machines (minutes each) last.  Nothing is
deselected: a mutant the declared areas miss is still caught by the rest of the suite.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--km-focus", default="", metavar="CLAUSES",
                     help="kill matrix: run the tests of these clauses, then of their areas, first")


def focus_rank(item: pytest.Item, focus: frozenset[str]) -> int:
    """0: tagged with a focus clause; 1: with a clause of a focus area; 2: other; 3: machine."""
    if "protocol_machine" in item.name:
        return 3
    ids = {m.args[0] for m in item.iter_markers("mjit_clause") if m.args}
    if ids & focus:
        return 0
    areas = {c.rpartition("-")[0] for c in focus}
    return 1 if any(i.rpartition("-")[0] in areas for i in ids) else 2


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    focus = frozenset(c for c in config.getoption("km_focus").split(",") if c)
    if focus:
        items.sort(key=lambda item: focus_rank(item, focus))
