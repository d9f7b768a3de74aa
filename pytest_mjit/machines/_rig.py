"""One engine under test for one state-machine example: its own directory and the harness's
rig (compiler shim, host, engine, leftovers) bounded like one test, and the teardown that
finishes it."""

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
from .._deadline import deadline, scale
from .._errors import MjitError
from .._options import Options
from .._presets import DEFAULT_PRESET, PRESETS, Preset
from .._rig import Leftovers, Rig
from .._shim import build_shim
from .._watchdog import GRACE
from ..host import write_header
from ._campaign import Campaign

__all__ = ["RigConfig", "ExampleRig", "FINISH_SECONDS", "LEFTOVER_GRACE"]

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


class ExampleRig:
    """A started engine with everything needed to observe it and to tear it down: the
    example's directory and the harness's ``Rig`` (shim, host, engine, leftovers).

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
        self.dir = Path(tempfile.mkdtemp(prefix="machine-", dir=config.work_dir))
        if config.watchdog is not None:        # an engine that kills the process leaves none
            config.watchdog.remove_on_crash(str(self.dir))
        self.rig = Rig(self.dir / "jit")
        self.rig.tmp_dir.mkdir(mode=0o700)
        self.shim = self.rig.add_shim(config.shim_binary, self.dir / "cc", config.cc,
                                      config.cc_family, config.cc_version)
        self.options = self.rig.options(min_calls=config.min_calls,
                                        max_cache_size=config.max_cache_size,
                                        wait_timeout=config.preset.wait_timeout)
        self.host = self.rig.host(self.options, config.header_file)
        self.engine: Any = None
        self.finished = False
        self.started_at = time.monotonic()
        self._limit = contextlib.ExitStack()
        self._limit.enter_context(deadline(config.preset.test_timeout, _EXAMPLE, outer=True))

    def start(self) -> None:
        """Create the engine, attach it and ``init`` it."""
        self.engine = self.rig.start(self.host, self.config.factory)

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(getattr(self.engine, "capabilities", ()))

    def engine_threads(self) -> dict[int, str]:
        """Threads that did not exist before this rig was built."""
        return self.rig.new_threads()

    def finish(self) -> None:
        """``engine.finish()`` once, bounded."""
        if self.finished or self.engine is None:
            return
        self.finished = True
        self.rig.finish_watched(self.engine, FINISH_SECONDS, "engine.finish()")

    def leftovers(self) -> Leftovers:
        """What is left after ``finish``: threads, compiler processes, files in the tmp dir and
        libraries from it still mapped (waits up to ``LEFTOVER_GRACE`` for the first two)."""
        return self.rig.leftovers(LEFTOVER_GRACE)

    def close(self) -> None:
        """Release every gate and hold, finish the engine if still running, kill compilers
        still running and remove the example's directory.  Never raises."""
        try:
            self._limit.close()         # finishing has its own deadline; the watchdog stays
        except BaseException:
            pass                        # the example's bound expired as it ended
        try:
            self.rig.release_all()
            if not self.finished and self.engine is not None:
                self.finish()
        except BaseException:
            pass
        finally:
            self.rig.close()
            shutil.rmtree(self.dir, ignore_errors=True)
            self._watched.close()
