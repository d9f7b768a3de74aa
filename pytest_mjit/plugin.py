"""The pytest plugin: options, markers, fixtures, clause selection, deadlines and the report."""

from __future__ import annotations

import contextlib

import os
import time
from pathlib import Path

import pytest

from . import (__version__, _clauses, _config, _fixtures, _hangs, _lost_workers, _suite,
               _watchdog)
from .contract import CAPABILITIES
from ._deadline import deadline, scale, set_scale
from ._errors import MjitError
from ._fixtures import (SESSION_KEY, TEST_KEY, _mjit_guard, _mjit_pair, mjit_cc,  # noqa: F401
                        mjit_engine, mjit_host, mjit_observe, mjit_options, mjit_start,
                        mjit_tmpdir, session_of)
from ._report import (DEADLINE_REASON, Results, area_lines, write_reports,
                      write_unfinished)
from ._results import exit_description
from ._run_report import make_report, meta_of
from ._run_end import (RunMark, deadline_in, exit_guard as _exit_guard, failure_reason,
                       interruption, worker_exit_status)
from ._session import MjitSession, remove_stale_session_dirs

#: The protocol machines register --mjit-replay and their fixture from their own module.
pytest_plugins = ["pytest_mjit.machines.plugin"]

RESULTS_KEY = pytest.StashKey[Results]()
REPORT_KEY = pytest.StashKey[dict]()
MARKERS = (
    "mjit_clause(id): the protocol clause this test checks (an id of the clause registry)",
    "mjit_requires(capability): skip as UNSUPPORTED unless the engine claims the capability",
    "mjit_options(**overrides): Options overrides for this test's engines",
)
#: Seconds (before scaling) the run's processes get to end after the last test.
RUN_END_GRACE = 2.0
_HARNESS_FIXTURES = {"mjit_start", "mjit_host", "mjit_engine", "mjit_cc", "mjit_options"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mjit", "MJIT engine conformance")
    for name, help_text in _config.OPTIONS.items():
        group.addoption(f"--mjit-{name}", dest=f"mjit_{name}", default=None, metavar="VALUE",
                        help=f"{help_text} [ini mjit_{name}, env {_config.env_name(name)}]")
        parser.addini(f"mjit_{name}", help_text, default=None)


def _worker_seed(config: pytest.Config) -> int | None:
    return getattr(config, "workerinput", {}).get("mjit_seed")


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    if config.getoption("help", False) or config.getoption("version", False):
        return
    worker_seed = _worker_seed(config)

    def get(name: str) -> str | None:
        if name == "seed" and worker_seed is not None:
            return str(worker_seed)
        return _option(config, name)[0]

    cache = getattr(config, "cache", None)
    last = cache.get(_config.SEED_CACHE_KEY, None) if cache is not None else None
    try:
        settings = _config.resolve(get, last if isinstance(last, int) else None,
                                   lambda name: _option(config, name)[1])
    except MjitError as exc:
        raise pytest.UsageError(str(exc)) from None
    if cache is not None and worker_seed is None:
        cache.set(_config.SEED_CACHE_KEY, settings.seed)
    set_scale(settings.preset.deadline_scale)
    _configure_hypothesis(config, settings)
    mjit = config.stash[SESSION_KEY] = MjitSession(settings)
    config.stash[RESULTS_KEY] = Results()
    config.stash[REPORT_KEY] = {"start": time.time()}
    shared: str | Path | None
    if worker_seed is None:   # under xdist the workers share the controller's session dir
        shared = mjit.dir if config.getoption("numprocesses", None) else None
    else:
        shared = _lost_workers.configure_worker(config, mjit.watchdog)
    _hangs.begin_run(shared)
    config.add_cleanup(_hangs.end_run)
    if worker_seed is None:
        _start_run(config, mjit)
    mark = RunMark() if worker_seed is None else None
    if mark is not None:
        config.add_cleanup(mark.close)
    config.pluginmanager.register(_Run(config, mark), "mjit-run")
    _exit_guard.install()


def _option(config: pytest.Config, name: str) -> tuple[str | None, str]:
    """The raw value of option ``name`` and its origin (``--mjit-NAME``, the environment
    variable or the ini key); a relative path from the ini file is taken from its directory."""
    return _config.config_value(config, name)


def _start_run(config: pytest.Config, mjit: MjitSession) -> None:
    """Controller (or the only process): check a chosen engine and compiler once, clear stale
    session dirs and mark the report paths, so that a run that dies leaves no previous run's
    certificate.  (The default engine and compiler are checked when a test needs them.)"""
    remove_stale_session_dirs()
    chosen = [name for name in ("engine", "cc") if _option(config, name)[0] is not None]
    if chosen and mjit.settings.problem is None:
        error = mjit.probe()["error"]
        if error is None and "cc" in chosen:
            try:      # a chosen compiler that cannot build the shim fails now, not per test
                mjit.shim_binary()
            except MjitError as exc:
                error = _option(config, "cc")[1] + f"={mjit.settings.cc}: {exc}"
        if error is not None:
            mjit.close()
            raise pytest.UsageError(error)
    if mjit.settings.report is not None:
        write_unfinished(mjit.settings.report, meta_of(mjit, config.stash[RESULTS_KEY],
                                                      config.stash[REPORT_KEY]["start"]))
        mjit.watchdog.mark_report_on_crash(str(mjit.settings.report.resolve()))


def _configure_hypothesis(config: pytest.Config, settings: _config.Settings) -> None:
    try:
        import hypothesis
        from hypothesis import core
    except ImportError:
        return
    preset = settings.preset
    name = f"mjit-{preset.name}"
    hypothesis.settings.register_profile(
        name, max_examples=preset.max_examples, stateful_step_count=preset.stateful_step_count,
        deadline=None)
    if not config.getoption("hypothesis_profile", None):
        hypothesis.settings.load_profile(name)
    if config.getoption("hypothesis_seed", None) is None:
        core.global_force_seed = settings.seed  # type: ignore[assignment]  # typed None upstream


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist controller: every worker runs with the controller's seed."""
    node.workerinput["mjit_seed"] = session_of(node.config).settings.seed
    _lost_workers.configure_node(node, session_of(node.config).dir)


def pytest_report_header(config: pytest.Config) -> list[str]:
    if SESSION_KEY not in config.stash:
        return []
    session = session_of(config)
    s = session.settings
    probe = session.probe()      # bounded, and its text cleaned of control characters
    engine = f"{probe['name']} {probe['version']}" if probe["error"] is None else (
        f"unavailable ({probe['error']})")
    return [f"mjit: engine {s.engine_spec}: {engine}, cc {s.cc} ({s.cc_version}), "
            f"suite {__version__}, seed {s.seed}, preset {s.preset.name}"]


def _marker_problems(item: pytest.Item) -> list[str]:
    problems = []
    for marker in item.iter_markers("mjit_clause"):
        if len(marker.args) != 1 or marker.kwargs:
            problems.append(f"{item.nodeid}: mjit_clause takes exactly one clause id")
        elif _clauses.get(marker.args[0]) is None:
            problems.append(f"{item.nodeid}: unknown clause id {marker.args[0]!r} "
                            "(not in the clause registry)")
    for marker in item.iter_markers("mjit_requires"):
        if len(marker.args) != 1 or marker.args[0] not in CAPABILITIES:
            problems.append(f"{item.nodeid}: mjit_requires takes one capability of "
                            f"{', '.join(sorted(CAPABILITIES))}, got {marker.args!r}")
    return problems


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if not report.passed:
        return
    problems = [p for item in report.result if isinstance(item, pytest.Item)
                for p in _marker_problems(item)]
    if problems:
        report.outcome = "failed"
        report.longrepr = "\n".join(problems)
        report.result = []


def clause_ids(item: pytest.Item) -> list[str]:
    return sorted({m.args[0] for m in item.iter_markers("mjit_clause") if m.args})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SESSION_KEY not in config.stash:
        return
    pattern = session_of(config).settings.clauses
    root = _suite.suite_dir()
    keep, drop = [], []
    for item in items:
        ids = clause_ids(item)
        if ids:
            item.user_properties.append(("mjit_clauses", ",".join(ids)))
            in_suite = root is not None and str(item.path).startswith(str(root) + os.sep)
            item.user_properties.append(("mjit_suite", "1" if in_suite else "0"))
        if pattern is None or any(_clauses.matches(i, pattern) for i in ids):
            keep.append(item)
        else:
            drop.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    """Every selected clause test is expected to report; one that never does is not PASS."""
    if RESULTS_KEY not in session.config.stash:
        return
    results = session.config.stash[RESULTS_KEY]
    for item in session.items:
        props = dict(item.user_properties)
        if props.get("mjit_clauses"):
            results.expect(item.nodeid, str(props["mjit_clauses"]).split(","),
                           props.get("mjit_suite") == "1")


def _required(item: pytest.Item) -> list[str]:
    caps = [m.args[0] for m in item.iter_markers("mjit_requires")]
    caps += [c.capability for c in map(_clauses.get, clause_ids(item)) if c and c.capability]
    return sorted(set(caps))


def _uses_harness(item: pytest.Item) -> bool:
    return bool(_HARNESS_FIXTURES & set(getattr(item, "fixturenames", ())))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if _uses_harness(item) and SESSION_KEY in item.config.stash:
        session_of(item.config).watchdog.hold_output()     # inside pytest's capture
    needed = _required(item)
    if not needed or SESSION_KEY not in item.config.stash:
        return
    probe = session_of(item.config).probe()
    if probe["error"] is not None:
        pytest.fail(f"cannot create the engine to read its capabilities: {probe['error']}",
                    pytrace=False)
    missing = [c for c in needed if c not in probe["capabilities"]]
    if missing:
        pytest.skip(f"UNSUPPORTED: the engine does not claim {', '.join(missing)}")


@contextlib.contextmanager
def _bounded_phase(item: pytest.Item, phase: str):
    """For a test that uses the harness: the phase's deadline in the process (not for the
    teardown, whose engine.finish() calls have their own) and, behind it, the watchdog process
    that kills this process once the phase outlives the deadline plus a grace."""
    if not _uses_harness(item) or SESSION_KEY not in item.config.stash:
        yield
        return
    mjit = session_of(item.config)
    timeout = mjit.settings.preset.test_timeout
    if phase == "teardown":
        engines = len(getattr(item.stash.get(TEST_KEY, None), "started", ()))
        timeout += _fixtures.FINISH_TIMEOUT * max(1, engines)
    what = f"test {phase} of {item.nodeid}"
    inner = deadline(timeout, what, outer=True) if phase != "teardown" else contextlib.nullcontext()
    with mjit.watchdog.armed(scale(timeout + _watchdog.GRACE), what), inner:
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    with _bounded_phase(item, "call"):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is None:
        return
    if report.failed:
        report.user_properties.append(("mjit_reason", failure_reason(call.excinfo.value)))
    expired = deadline_in(call.excinfo.value)
    if expired is None:
        return
    report.user_properties.append(
        ("mjit_unresolved", f"{DEADLINE_REASON} in {call.when}: "
         + str(expired).splitlines()[0]))
    test = item.stash.get(TEST_KEY, None)
    if test is not None:
        test.stuck = test.stuck or str(expired).splitlines()[0]
        test.release_all()
        report.sections.append(("mjit engine state", test.stats()))   # bounded per engine


class _Run:
    """Hooks bound to one configured run: gathers results, writes the report."""

    def __init__(self, config: pytest.Config, mark: RunMark | None) -> None:
        self.config = config
        self.mark = mark
        #: xdist controller: exit status of each worker that died (gateway id -> status),
        #: until a crash report ties it to the test it was running
        self.worker_status: dict[str, int | None] = {}
        self.interrupt: str | None = None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item):
        # Fixtures create and start the engine: that phase is bounded like the call.  (A
        # wrapper of its own, so that the capability check above may skip inside it.)
        with _bounded_phase(item, "setup"):
            yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item):
        with _bounded_phase(item, "teardown"):
            yield

    def pytest_keyboard_interrupt(self, excinfo) -> None:
        self.interrupt = failure_reason(excinfo.value)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.config.stash[RESULTS_KEY].add(report)

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem, report, sched) -> None:
        """xdist controller: a worker died running ``crashitem``; say how it died."""
        worker = getattr(report.node.gateway, "id", None)
        status = self.worker_status.pop(worker, None) if worker is not None else None
        how = _lost_workers.death(session_of(self.config).dir, worker, status)
        report.user_properties.append(("mjit_crash", how))
        _lost_workers.spare_restart(self.config)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        """xdist controller: merge what a worker learned about the engine and its tests;
        for a worker that died, keep its exit status for the crash report that follows."""
        output = getattr(node, "workeroutput", {})
        if output.get("mjit_engine"):
            session_of(self.config).engine_info = output["mjit_engine"]
        for nodeid, (ids, in_suite) in output.get("mjit_tests", {}).items():
            self.config.stash[RESULTS_KEY].expect(nodeid, ids, in_suite)
        if error is not None:
            self.worker_status[node.gateway.id] = worker_exit_status(node)

    @pytest.hookimpl(trylast=True)     # after xdist has shut its workers down
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        config = self.config
        mjit = session_of(config)
        _exit_guard.status = int(session.exitstatus)
        if hasattr(config, "workeroutput"):
            config.workeroutput["mjit_engine"] = mjit.engine_info
            config.workeroutput["mjit_tests"] = config.stash[RESULTS_KEY].expected
            mjit.close()
            return
        results = config.stash[RESULTS_KEY]
        if results.tests or results.expected or mjit.settings.report is not None:
            # a worker that died between tests has no test to fail: the run does
            deaths = [f"worker {w} died between tests ({exit_description(s)})"
                      for w, s in sorted(self.worker_status.items())]
            if self.mark is not None:
                deaths += self.mark.check(RUN_END_GRACE, (mjit.watchdog.pid,),
                                          config.pluginmanager.get_plugin("terminalreporter"))
            report = make_report(mjit, results, config.stash[REPORT_KEY]["start"],
                                 self.interrupt or interruption(session), deaths)
            config.stash[REPORT_KEY]["report"] = report
            if mjit.settings.report is not None:
                write_reports(report, mjit.settings.report)
        mjit.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    report = config.stash.get(REPORT_KEY, {}).get("report")
    if report is None:
        return
    tr = terminalreporter
    tr.write_sep("=", "mjit clauses by area")
    for line in area_lines(report):
        tr.write_line(line)
    if config.stash[SESSION_KEY].settings.report is not None:
        tr.write_line(f"mjit report: {config.stash[SESSION_KEY].settings.report}")
    granted = report["certificate"]["granted"]
    tr.write_line(report["certificate"]["line"], green=granted, red=not granted, bold=True)
