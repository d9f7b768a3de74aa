"""The harness fixtures: options, engine start/finish, tmp dir, compiler shim, observers, and
the leak guard that fails a test which leaves threads, processes, files or mappings behind."""

from __future__ import annotations

import functools
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import _hangs
from ._deadline import DeadlineExceeded, deadline, scale
from ._engine_check import call_bounded
from ._errors import MjitError
from ._observe import Observer, child_processes, python_threads
from ._options import Options
from ._run_end import exit_guard
from ._session import MjitSession, make_host
from ._shim import CompilerShim
from ._strays import MARKER_ENV, Places, foreign_maps, marked_processes, new_marker
from ._text import clean

__all__ = ["MjitTest", "session_of", "mjit_tmpdir", "mjit_cc", "mjit_options", "mjit_start",
           "mjit_host", "mjit_engine", "mjit_observe", "FINISH_TIMEOUT", "LEAK_GRACE"]

#: Seconds (before scaling) teardown allows one engine's finish, and leftovers to go away.
FINISH_TIMEOUT = 30.0
LEAK_GRACE = 2.0
#: Seconds (before scaling) for finish at teardown after a client call of the test hung.
STUCK_FINISH_TIMEOUT = 5.0
#: Seconds (before scaling) a failure report waits for one engine's stats().
STATS_TIMEOUT = 2.0
SESSION_KEY = pytest.StashKey[MjitSession]()
TEST_KEY = pytest.StashKey["MjitTest"]()


def _stats_text(engine: Any) -> str:
    """The engine's ``stats()`` as one line (called on a helper thread, bounded)."""
    return repr(dict(engine.stats()))


def session_of(config: pytest.Config) -> MjitSession:
    return config.stash[SESSION_KEY]


class MjitTest:
    """Per-test record: the engines and hosts started, for teardown and failure reports."""

    def __init__(self) -> None:
        self.started: list[tuple[Any, Any, Options]] = []
        self.shim: CompilerShim | None = None
        #: the first harness deadline that expired in the test (its engine may be stuck)
        self.stuck: str | None = None

    def stats(self) -> str:
        """Every engine's ``stats()``, each bounded by STATS_TIMEOUT (an engine that hangs in
        it gets "unavailable"), and the shim's state."""
        lines = []
        for n, (_host, engine, _opts) in enumerate(self.started):
            try:
                value = call_bounded(functools.partial(_stats_text, engine),
                                     scale(STATS_TIMEOUT), "engine.stats()")
                lines.append(f"engine #{n} stats: {clean(value, 2000)}")
            except MjitError as exc:
                lines.append(f"engine #{n} stats: unavailable ({exc})")
        if self.shim is not None:
            lines.append(self.shim.describe())
        return "\n".join(lines)

    def release_all(self) -> None:
        if self.shim is not None:
            self.shim.release_all()
        for host, _engine, _opts in self.started:
            try:
                host.release_all()
            except Exception:
                pass


def _test(request: pytest.FixtureRequest) -> MjitTest:
    return request.node.stash.setdefault(TEST_KEY, MjitTest())


@pytest.fixture
def _mjit_guard(request: pytest.FixtureRequest, tmp_path: Path):
    """Snapshot before the test; after it, fail naming every leftover of the test."""
    test = _test(request)
    threads, children = python_threads(), {c.pid for c in child_processes()}
    observer = Observer(tmp_path / "jit", lambda: test.started[0][0] if test.started else None)
    session_of(request.config).watchdog.remove_on_crash(str(observer.tmp_dir))
    maps_before, places = observer.maps(), Places()
    marker, previous = new_marker(), os.environ.get(MARKER_ENV)
    os.environ[MARKER_ENV] = marker
    try:
        yield observer
        leaks = _leftovers(test, observer, threads, children, maps_before, tmp_path, marker)
    finally:
        if previous is None:
            os.environ.pop(MARKER_ENV, None)
        else:
            os.environ[MARKER_ENV] = previous
    leaks += _strays(observer, places, maps_before, tmp_path)
    if leaks:
        pytest.fail("the test left behind:\n" + "\n".join(leaks), pytrace=False)


def _leftovers(test, observer, threads, children, maps_before, tmp_path, marker) -> list[str]:
    allowed = observer.allowed
    end = time.monotonic() + scale(_hangs.grace(LEAK_GRACE))   # a hung engine's threads stay
    while True:
        new_threads = {i: n for i, n in python_threads().items() if i not in threads}
        new_children = {c for c in child_processes() if c.pid not in children}
        # grandchildren and re-parented daemons: anything started under this test's marker
        pids = {c.pid for c in new_children}
        new_children |= {c for c in marked_processes(marker)
                         if c.pid not in pids and c.pid not in children}
        if (not new_threads and not new_children) or time.monotonic() >= end:
            break
        time.sleep(0.005)
    leaks = []
    if new_threads and "threads" not in allowed:
        exit_guard.suspects.update(new_threads)
        leaks.append("threads: " + ", ".join(sorted(new_threads.values())))
    if new_children and "children" not in allowed:
        leaks.append("child processes: " + ", ".join(
            f"{c.pid} [{c.state}] {' '.join(c.cmdline[:3])}" for c in sorted(new_children,
                                                                          key=lambda c: c.pid)))
        _reap(new_children)
    maps = {m for m in observer.maps(tmp_path) if m not in maps_before}
    if maps and "maps" not in allowed:
        leaks.append("mapped libraries: " + ", ".join(
            m.path + (" (deleted)" if m.deleted else "") for m in sorted(maps, key=str)))
    keep = any(opts.save_temps for _h, _e, opts in test.started)
    files = observer.files()
    if files and not keep and "files" not in allowed:
        leaks.append(f"files in {observer.tmp_dir}: " + ", ".join(sorted(files)))
        # named above; an engine that cannot be finished leaves them to nobody else
        shutil.rmtree(observer.tmp_dir, ignore_errors=True)
    return leaks


def _strays(observer: Observer, places: Places, maps_before, tmp_path: Path) -> list[str]:
    """Files the test added beside its tmp dir, and libraries mapped from elsewhere."""
    leaks = []
    added = places.added()
    if added and "files" not in observer.allowed:
        leaks.append("files outside the tmp dir: " + ", ".join(added))
    foreign = foreign_maps({m for m in observer.maps() if m not in maps_before}, tmp_path)
    if foreign and "maps" not in observer.allowed:
        leaks.append("libraries mapped from outside the tmp dir: "
                     + ", ".join(sorted(m.path for m in foreign)))
    return leaks


def _reap(children) -> None:
    for child in children:
        try:
            if child.state != "Z":
                os.kill(child.pid, 9)
            os.waitpid(child.pid, 0)
        except (ProcessLookupError, ChildProcessError, PermissionError):
            pass


@pytest.fixture
def mjit_tmpdir(_mjit_guard) -> Path:
    """The engine's tmp dir for this test (mode 0700); must be empty after the test unless an
    engine ran with save_temps."""
    path = _mjit_guard.tmp_dir
    path.mkdir(mode=0o700, exist_ok=True)
    return path


@pytest.fixture
def mjit_cc(request: pytest.FixtureRequest, tmp_path: Path,
            _mjit_guard) -> Iterator[CompilerShim]:
    """The compiler shim of this test, wrapping the run's real compiler."""
    session = session_of(request.config)
    settings = session.settings
    try:
        binary = session.shim_binary()
    except MjitError as exc:
        # Every later test would fail the same way: one error, and the run stops.
        request.session.shouldstop = str(exc)
        raise
    shim = CompilerShim(binary, tmp_path / "cc", settings.cc, settings.cc_family,
                        settings.cc_version)
    _test(request).shim = shim
    yield shim
    shim.release_all()
    try:
        shim.wait_idle(FINISH_TIMEOUT)
    finally:
        shim.kill_running()


@pytest.fixture
def mjit_options(request: pytest.FixtureRequest, mjit_cc: CompilerShim,
                 mjit_tmpdir: Path) -> Options:
    """Options for this test's engines: the shim as compiler, the test's tmp dir, small
    min_calls and wait_timeout; overridden by ``@pytest.mark.mjit_options(**overrides)``."""
    preset = session_of(request.config).settings.preset
    overrides: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("mjit_options"))):
        if marker.args:
            raise MjitError("@pytest.mark.mjit_options takes keyword arguments only")
        overrides.update(marker.kwargs)
    base: dict[str, Any] = dict(cc=mjit_cc.path, cc_family=mjit_cc.family,
                                tmp_dir=str(mjit_tmpdir), min_calls=2,
                                wait_timeout=preset.wait_timeout)
    base.update(overrides)
    try:
        return Options(**base)
    except TypeError as exc:
        raise MjitError(f"@pytest.mark.mjit_options: {exc}") from None


class Starter:
    """``mjit_start(**overrides) -> (host, engine)``: host, engine, attach, init."""

    def __init__(self, request: pytest.FixtureRequest, options: Options) -> None:
        self._session = session_of(request.config)
        self._test = _test(request)
        self.options = options

    def __call__(self, **overrides: Any) -> tuple[Any, Any]:
        options = self.options.replace(**overrides) if overrides else self.options
        host = make_host(options, self._session.header_file())
        engine = self._session.settings.factory(host, options)
        self._session.record_engine(engine)      # checked like the start-up engine
        self._test.started.append((host, engine, options))
        host.attach(engine)
        engine.init()
        return host, engine

    def finish_all(self) -> None:
        """Release every hold and gate, then finish every started engine (bounded)."""
        self._test.release_all()
        errors, expired = [], None
        # An engine that already left a client call of this test hanging gets less time.
        seconds, what = FINISH_TIMEOUT, "engine.finish() at teardown"
        if self._test.stuck and not _hangs.first():
            seconds = STUCK_FINISH_TIMEOUT
            what += f" (cut to {seconds:g}s (before scaling): {self._test.stuck})"
        for _host, engine, _opts in reversed(self._test.started):
            try:
                with deadline(seconds, what, hang="engine.finish()"):
                    engine.finish()
            except DeadlineExceeded as exc:
                expired = expired or exc
                self._test.release_all()
            except BaseException as exc:
                errors.append(f"{type(exc).__name__}: {clean(exc, 400)}")
                self._test.release_all()
        if expired is not None:
            raise expired   # the harness's deadline: UNRESOLVED, whatever else went wrong
        if errors:
            pytest.fail("finishing the engine at teardown failed:\n" + "\n".join(errors),
                        pytrace=False)


@pytest.fixture
def mjit_start(request: pytest.FixtureRequest, mjit_options: Options, mjit_cc: CompilerShim):
    """Factory ``mjit_start(**option_overrides) -> (host, engine)``; every engine it started is
    finished at teardown, after releasing all shim holds and host gates."""
    starter = Starter(request, mjit_options)
    yield starter
    starter.finish_all()


@pytest.fixture
def _mjit_pair(mjit_start):
    return mjit_start()


@pytest.fixture
def mjit_host(_mjit_pair):
    """The host of the test's default engine (started on first use)."""
    return _mjit_pair[0]


@pytest.fixture
def mjit_engine(_mjit_pair):
    """The test's default engine, initialised (started on first use)."""
    return _mjit_pair[1]


@pytest.fixture
def mjit_observe(_mjit_guard) -> Observer:
    """Observers of the test's tmp dir, mapped .so files, threads, children and host events."""
    return _mjit_guard
