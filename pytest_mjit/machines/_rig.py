"""One engine under test for one state-machine example: its own tmp dir, compiler shim, host
and engine, and the teardown that finishes it and lists what it left behind."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from .._config import find_compiler
from .. import _hangs
from .._deadline import deadline, scale
from .._errors import MjitError
from .._observe import child_processes, mapped_libraries, python_threads
from .._options import Options
from .._presets import DEFAULT_PRESET, PRESETS, Preset
from .._shim import CompilerShim, build_shim
from .._watchdog import GRACE
from ..host import Host, write_header
from ._campaign import Campaign

__all__ = ["RigConfig", "Rig", "FINISH_SECONDS", "LEFTOVER_GRACE"]

#: Seconds (scaled) ``engine.finish()`` may take at the end of an example.
FINISH_SECONDS = 30.0
#: Seconds (scaled) threads and compiler processes get to go away after ``finish``.
LEFTOVER_GRACE = 5.0
_EXAMPLE = "protocol machine example"


@dataclasses.dataclass(frozen=True)
class RigConfig:
    """What every example of a run shares: the engine factory, the real compiler, the shim
    binary, the host header, a work directory for per-example dirs, and the preset."""

    factory: Callable[[Any, Options], Any]
    cc: str
    cc_family: str | None
    cc_version: str
    shim_binary: Path
    header_file: str
    work_dir: Path
    preset: Preset
    min_calls: int = 1
    max_cache_size: int = 10
    #: the session's watchdog process (``_watchdog.Watchdog``), armed for each example
    watchdog: Any = None
    #: the engine's name in the example database's keys (``--mjit-engine``); None: the
    #: factory's module and name
    engine: str | None = None
    #: the run's ``--mjit-campaign`` and ``--mjit-example-db``
    campaign: Campaign | None = None

    @property
    def engine_name(self) -> str:
        """What names this config's engine across processes and machines."""
        if self.engine is not None:
            return self.engine
        f = self.factory
        return f"{getattr(f, '__module__', '?')}:{getattr(f, '__qualname__', type(f).__name__)}"

    @classmethod
    def from_session(cls, session: Any, work_dir: Path,
                     factory: Callable[[Any, Options], Any] | None = None,
                     campaign: Campaign | None = None) -> "RigConfig":
        """Build from the plugin's session (``pytest_mjit._fixtures.session_of(config)``);
        ``factory`` replaces the run's engine (the project's tests pass mutants here)."""
        s = session.settings
        return cls(factory=factory or s.factory, cc=s.cc, cc_family=s.cc_family,
                   cc_version=s.cc_version, shim_binary=session.shim_binary(),
                   header_file=session.header_file(), work_dir=Path(work_dir), preset=s.preset,
                   watchdog=session.watchdog, engine=None if factory else s.engine_spec,
                   campaign=campaign)

    @classmethod
    def standalone(cls, factory: Callable[[Any, Options], Any], cc: str | None,
                   work_dir: str | os.PathLike, preset: str = DEFAULT_PRESET) -> "RigConfig":
        """Without pytest: the compiler ``cc`` (a name or path; None finds gcc or clang), the
        shim and the host header built in ``work_dir``, the preset named ``preset``."""
        path, family, version = find_compiler(cc)
        work = Path(work_dir)
        return cls(factory=factory, cc=path, cc_family=family, cc_version=version,
                   shim_binary=build_shim(path, work), header_file=write_header(work),
                   work_dir=work, preset=_preset(preset))

    def replace(self, *, factory: Callable[[Any, Options], Any] | None = None,
                preset: str | None = None) -> "RigConfig":
        """This config with another engine factory and/or the preset named ``preset``."""
        changes: dict[str, Any] = {}
        if factory is not None:
            changes["factory"] = factory
            changes["engine"] = None
        if preset is not None:
            changes["preset"] = _preset(preset)
        return dataclasses.replace(self, **changes)


def _preset(name: str) -> Preset:
    if name not in PRESETS:
        raise MjitError(f"unknown preset {name!r}: choose one of {', '.join(sorted(PRESETS))}")
    return PRESETS[name]


class Rig:
    """A started engine with everything needed to observe it and to tear it down.

    Built on the main thread; ``close()`` always leaves nothing behind, even after a failure.
    From construction to ``close()`` the example is bounded like one test: the preset's
    ``test_timeout`` in the process, and the watchdog (when the config has one) behind it."""

    def __init__(self, config: RigConfig) -> None:
        self.config = config
        # armed first: the watchdog process starts on first use and is no child of the engine
        self._watched = contextlib.ExitStack()
        if config.watchdog is not None:
            self._watched.enter_context(config.watchdog.armed(
                scale(config.preset.test_timeout + GRACE + FINISH_SECONDS), _EXAMPLE))
        try:
            self._build(config)
        except BaseException:
            self._watched.close()
            raise

    def _build(self, config: RigConfig) -> None:
        self.threads_before = python_threads()
        self.children_before = {c.pid for c in child_processes()}
        self.maps_before = mapped_libraries()
        self.dir = Path(tempfile.mkdtemp(prefix="machine-", dir=config.work_dir))
        if config.watchdog is not None:        # an engine that kills the process leaves none
            config.watchdog.remove_on_crash(str(self.dir))
        self.tmp_dir = self.dir / "jit"
        self.tmp_dir.mkdir(mode=0o700)
        self.shim = CompilerShim(config.shim_binary, self.dir / "cc", config.cc,
                                 config.cc_family, config.cc_version)
        self.options = Options(cc=self.shim.path, cc_family=config.cc_family,
                               tmp_dir=str(self.tmp_dir), min_calls=config.min_calls,
                               max_cache_size=config.max_cache_size,
                               wait_timeout=config.preset.wait_timeout)
        self.host = Host(self.options, header_file=config.header_file)
        self.engine: Any = None
        self.finished = False
        self.started_at = time.monotonic()
        self._limit = contextlib.ExitStack()
        self._limit.enter_context(deadline(config.preset.test_timeout, _EXAMPLE, outer=True))

    def start(self) -> None:
        """Create the engine, attach it and ``init`` it."""
        self.engine = self.config.factory(self.host, self.options)
        self.host.attach(self.engine)
        self.engine.init()

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(getattr(self.engine, "capabilities", ()))

    def engine_threads(self) -> dict[int, str]:
        """Threads that did not exist before this rig was built."""
        return {i: n for i, n in python_threads().items() if i not in self.threads_before}

    def finish(self) -> None:
        """``engine.finish()`` once, bounded."""
        if self.finished or self.engine is None:
            return
        self.finished = True
        with deadline(FINISH_SECONDS, "engine.finish()", hang="engine.finish()"):
            self.engine.finish()

    def leftovers(self) -> list[str]:
        """What is left after ``finish``: threads, compiler processes, files in the tmp dir and
        libraries from it still mapped (waits up to ``LEFTOVER_GRACE`` for the first two)."""
        end = time.monotonic() + scale(_hangs.grace(LEFTOVER_GRACE))
        while True:
            threads = self.engine_threads()
            children = {c for c in child_processes() if c.pid not in self.children_before}
            if (not threads and not children) or time.monotonic() >= end:
                break
            time.sleep(0.002)
        found = []
        if threads:
            found.append("threads: " + ", ".join(sorted(threads.values())))
        if children:
            found.append("processes: " + ", ".join(
                f"{c.pid} {' '.join(c.cmdline[:2])}"
                for c in sorted(children, key=lambda c: c.pid)))
        files = sorted(os.listdir(self.tmp_dir)) if self.tmp_dir.is_dir() else []
        if files:
            found.append(f"files in the tmp dir: {', '.join(files)}")
        prefix = os.path.join(str(self.tmp_dir), "")
        maps = sorted(m.path for m in mapped_libraries() - self.maps_before
                      if m.path.startswith(prefix))
        if maps:
            found.append(f"mapped libraries: {', '.join(maps)}")
        return found

    def close(self) -> None:
        """Release every gate and hold, finish the engine if still running, kill compilers
        still running and remove the example's directory.  Never raises."""
        try:
            self._limit.close()         # finishing has its own deadline; the watchdog stays
        except BaseException:
            pass                        # the example's bound expired as it ended
        try:
            self.host.release_all()
            self.shim.release_all()
            if not self.finished and self.engine is not None:
                self.finish()
        except BaseException:
            pass
        finally:
            self.shim.kill_running()
            for child in child_processes():
                if child.pid not in self.children_before and child.state == "Z":
                    try:
                        os.waitpid(child.pid, os.WNOHANG)
                    except ChildProcessError:
                        pass
            self.host.close()
            shutil.rmtree(self.dir, ignore_errors=True)
            self._watched.close()
