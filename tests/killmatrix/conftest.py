"""Session plumbing of the kill matrix (``python3 -m pytest tests/killmatrix/matrix.py``).

Only a session that names this directory is a matrix session; in any other session (the
project's ``tests`` run collects this directory's conftest too) every hook here does nothing.

The controller (or the only process, without xdist) decides which rows are fresh and tells
the workers (``workerinput``), so that every worker, local or on another machine, deselects
the same items without seeing the cache.  Workers send each row back in its test report; the
controller keeps it in the cache and, at the end, writes docs/mutants.{md,json} from every
fresh row.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from tests.killmatrix import _rows
from tests.killmatrix._meta import MATRIX_JSON, MATRIX_MD, mutant_names

HERE = Path(__file__).resolve().parent
#: The user property that carries a row from the item to the controller.
ROW_PROPERTY = "km_row"


@dataclasses.dataclass(frozen=True)
class Settings:
    """What an item of the matrix needs to know about its session."""

    mode: str
    idle: float
    timeout: float
    #: row ids whose kept row is fresh: their items are deselected
    fresh: frozenset[str]
    #: tests that fail against the reference engine: mutant runs deselect them
    ref_failing: tuple[str, ...]
    #: tests that fail against the real C: C mutant runs deselect them
    cref_failing: tuple[str, ...] = ()

    def to_input(self) -> dict[str, Any]:
        return dict(dataclasses.asdict(self), fresh=sorted(self.fresh),
                    ref_failing=list(self.ref_failing), cref_failing=list(self.cref_failing))

    @classmethod
    def from_input(cls, data: dict[str, Any]) -> Settings:
        return cls(data["mode"], data["idle"], data["timeout"], frozenset(data["fresh"]),
                   tuple(data["ref_failing"]), tuple(data["cref_failing"]))


@dataclasses.dataclass
class Controller:
    """The controller's state: the cache, the rows' keys, the rows written this session."""

    store: _rows.RowStore
    keys: dict[str, str]
    written: list[str] = dataclasses.field(default_factory=list)
    docs: bool = True


SETTINGS = pytest.StashKey[Settings]()
#: The controllers of the sessions in this process (pytest_runtest_logreport sees no config).
_CONTROLLERS: list[Controller] = []
CONTROLLER = pytest.StashKey[Controller]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("killmatrix",
                            "kill matrix (python3 -m pytest tests/killmatrix/matrix.py)")
    group.addoption("--km-full", action="store_true",
                    help="run every test against every mutant (default: stop at the first catch)")
    group.addoption("--km-cache", metavar="DIR", default=None,
                    help=f"where rows are kept (default {_rows.DEFAULT_CACHE.name}/ in the "
                         "repository)")
    group.addoption("--km-force", action="store_true", help="run fresh rows again too")
    group.addoption("--km-idle", type=float, default=50.0, metavar="S",
                    help="kill a run whose log shows no progress for S seconds (default 50)")
    group.addoption("--km-timeout", type=float, default=900.0, metavar="S",
                    help="seconds one run of the suite may take (default 900)")
    group.addoption("--km-no-docs", action="store_true",
                    help="keep the rows but do not rewrite docs/mutants.{md,json}")


def active(config: pytest.Config) -> bool:
    """Whether this session is a kill-matrix session: an argument names this directory."""
    for arg in config.args:
        path = Path(arg.split("::")[0])
        path = (path if path.is_absolute() else Path(config.invocation_params.dir) / path)
        if path.resolve() == HERE or HERE in path.resolve().parents:
            return True
    return False


def pytest_configure(config: pytest.Config) -> None:
    if not active(config):
        return
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        config.stash[SETTINGS] = Settings.from_input(workerinput["km"])
        return
    cache = config.getoption("km_cache")
    store = _rows.RowStore(Path(cache).resolve() if cache else _rows.DEFAULT_CACHE)
    keys = _rows.row_keys(mutant_names(), _rows.reference_areas(), _rows.c_names())
    mode = "full" if config.getoption("km_full") else "fast"
    fresh = frozenset() if config.getoption("km_force") else frozenset(
        rid for rid, key in keys.items() if store.fresh(rid, key, mode))
    config.stash[SETTINGS] = Settings(mode, config.getoption("km_idle"),
                                      config.getoption("km_timeout"), fresh,
                                      tuple(_rows.ref_failing(store, keys)),
                                      tuple(_rows.ref_failing(store, keys, "creference")))
    config.stash[CONTROLLER] = Controller(store, keys, docs=not config.getoption("km_no_docs"))
    _CONTROLLERS.append(config.stash[CONTROLLER])


def pytest_unconfigure(config: pytest.Config) -> None:
    controller = config.stash.get(CONTROLLER, None)
    if controller in _CONTROLLERS:
        _CONTROLLERS.remove(controller)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: every worker gets the same settings, so all collect the same items."""
    if SETTINGS in node.config.stash:
        node.workerinput["km"] = node.config.stash[SETTINGS].to_input()


def row_id(item: pytest.Item) -> str | None:
    """The row an item runs (``mutant:<name>``, ``reference:<file>``, ``cmutant:<name>``,
    ``creference:cruby``)."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "name" in params:
        return f"mutant:{params['name']}"
    if "cname" in params:
        return f"cmutant:{params['cname']}"
    if "area" in params:
        return f"reference:{params['area']}"
    return _rows.CREFERENCE if getattr(item, "originalname", "") == "test_creference" else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SETTINGS not in config.stash:
        return
    fresh = config.stash[SETTINGS].fresh
    drop = [item for item in items if row_id(item) in fresh]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [item for item in items if row_id(item) not in fresh]


@pytest.fixture
def km_settings(request: pytest.FixtureRequest) -> Settings:
    """The matrix session's settings."""
    return request.config.stash[SETTINGS]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Controller: keep the row an item sent (it runs here for every worker's report)."""
    row = dict(report.user_properties).get(ROW_PROPERTY)
    if report.when != "call" or row is None:
        return
    controller = _CONTROLLERS[-1] if _CONTROLLERS else None
    if controller is not None:
        data = json.loads(str(row))
        rid = f"{data['kind']}:{data['name']}"
        if rid in controller.keys:      # a worker with other sources may send unknown rows
            controller.store.write(rid, controller.keys[rid], data)
            controller.written.append(rid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    controller = session.config.stash.get(CONTROLLER, None)
    if controller is None:
        return
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and session.config.stash[SETTINGS].fresh:
        session.exitstatus = pytest.ExitCode.OK     # every selected row was fresh
    if session.config.option.collectonly:
        return
    old = json.loads(MATRIX_JSON.read_text()) if MATRIX_JSON.exists() else {}
    matrix = _rows.merge(controller.store, controller.keys, old)
    mutants = matrix["mutants"]
    not_run = [n for n, m in mutants.items() if m["outcome"] == "NOT RUN"]
    missed = [n for n in matrix["not_caught"] if n not in not_run]
    summary = (f"kill matrix: {len(controller.written)} row(s) run, "
               f"{len(mutants) - len(matrix['not_caught'])} of {len(mutants)} mutants caught; "
               f"not caught: {', '.join(missed) or 'none'}"
               + (f"; {len(not_run)} without a current row" if not_run else "")
               + (f"; C mutants not caught: {', '.join(matrix['cmutants_not_caught']) or 'none'}"
                  if matrix.get("cmutants") else ""))
    if controller.docs:
        from tests.killmatrix._doc import markdown
        MATRIX_JSON.parent.mkdir(exist_ok=True)
        MATRIX_JSON.write_text(json.dumps(matrix, indent=1) + "\n")
        MATRIX_MD.write_text(markdown(matrix))
        summary += (f"; wrote {MATRIX_MD.relative_to(_rows.ROOT)} and "
                    f"{MATRIX_JSON.relative_to(_rows.ROOT)}")
    session.config.stash[SUMMARY] = summary


SUMMARY = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if SUMMARY in config.stash:
        terminalreporter.write_line(config.stash[SUMMARY])
