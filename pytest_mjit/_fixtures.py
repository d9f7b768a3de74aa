"""The harness fixtures: options, engine start/finish, tmp dir, compiler shim, observers, and
the leak guard that fails a test which leaves threads, processes, files or mappings behind."""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import _hangs
from ._deadline import DeadlineExceeded, scale
from ._engine_check import call_bounded
from ._errors import MjitError
from ._observe import Observer
from ._options import Options
from ._rig import Rig
from ._run_end import exit_guard
from ._session import MjitSession
from ._shim import CompilerShim
from ._strays import MARKER_ENV, Places, foreign_maps, new_marker
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
    """Per-test record: the test's rig (its engines, hosts and shim), for teardown and failure
    reports."""

    def __init__(self) -> None:
        self.rig: Rig | None = None
        #: the first harness deadline that expired in the test (its engine may be stuck)
        self.stuck: str | None = None

    @property
    def started(self) -> list[tuple[Any, Any, Options]]:
        return self.rig.started if self.rig is not None else []

    @property
    def shim(self) -> CompilerShim | None:
        return self.rig.shim if self.rig is not None else None

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
        if self.rig is not None:
            self.rig.release_all()


def _test(request: pytest.FixtureRequest) -> MjitTest:
    return request.node.stash.setdefault(TEST_KEY, MjitTest())


@pytest.fixture
def _mjit_guard(request: pytest.FixtureRequest, tmp_path: Path):
    """The test's rig, snapshot before the test; after it, fail naming every leftover of the
    test (the rig's diff, and strays beside its tmp dir)."""
    test = _test(request)
    marker, previous = new_marker(), os.environ.get(MARKER_ENV)
    os.environ[MARKER_ENV] = marker
    try:
        rig = test.rig = Rig(tmp_path / "jit", marker=marker, maps_under=tmp_path)
        observer = rig.observer
        session_of(request.config).watchdog.remove_on_crash(str(observer.tmp_dir))
        places = Places()
        yield observer
        left = rig.leftovers(LEAK_GRACE)
    finally:
        if previous is None:
            os.environ.pop(MARKER_ENV, None)
        else:
            os.environ[MARKER_ENV] = previous
    leaks = _leftovers(test, rig, left)
    leaks += _strays(observer, places, rig.before.maps, tmp_path)
    if leaks:
        pytest.fail("the test left behind:\n" + "\n".join(leaks), pytrace=False)


def _leftovers(test: MjitTest, rig: Rig, left) -> list[str]:
    """The lines naming ``left`` (but what the test allowed); leftover processes are killed,
    and files removed: an engine that cannot be finished leaves them to nobody else."""
    allowed = set(rig.observer.allowed)
    if any(opts.save_temps for _h, _e, opts in test.started):
        allowed.add("files")
    found = dict(left.items(allowed))
    if "threads" in found:
        exit_guard.suspects.update(left.threads)
    rig.close(reap=left.children if "children" in found else ())
    if "files" in found:
        shutil.rmtree(rig.tmp_dir, ignore_errors=True)
    return list(found.values())


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
    rig = _test(request).rig
    assert rig is not None     # _mjit_guard made it
    shim = rig.add_shim(binary, tmp_path / "cc", settings.cc, settings.cc_family,
                        settings.cc_version)
    yield shim
    shim.release_all()
    try:
        # An engine known to hang leaves its compilers running: kill them, don't wait.
        wait = _hangs.grace(FINISH_TIMEOUT)
        if wait:
            shim.wait_idle(wait)
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
    rig = _test(request).rig
    assert rig is not None and rig.shim is mjit_cc and rig.tmp_dir == mjit_tmpdir
    try:
        return rig.options(**{"min_calls": 2, "wait_timeout": preset.wait_timeout,
                              **overrides})
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
        rig = self._test.rig
        assert rig is not None     # _mjit_guard made it
        host = rig.host(options, self._session.header_file())
        # checked like the start-up engine
        engine = rig.start(host, self._session.settings.factory, self._session.record_engine)
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
        rig = self._test.rig
        assert rig is not None     # _mjit_guard made it
        for _host, engine, _opts in reversed(rig.started):
            try:
                rig.finish_watched(engine, seconds, what)
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
