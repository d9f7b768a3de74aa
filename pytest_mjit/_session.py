"""State of one pytest run: settings, the session directory (host header, shim binary) and
what was learned about the engine."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from ._config import Settings
from ._engine_check import engine_info, probe_factory
from ._errors import MjitError
from ._options import Options
from ._shim import build_shim
from ._text import clean
from ._watchdog import Watchdog

__all__ = ["MjitSession", "make_host", "remove_stale_session_dirs", "DIR_PREFIX"]

DIR_PREFIX = "pytest-mjit-"


def make_host(options: Options, header_file: str | None = None) -> Any:
    """A host VM for ``options`` whose header is ``header_file`` (None: the host writes one)."""
    from .host import Host
    return Host(options, header_file=header_file)


class MjitSession:
    """Lazily built, shared by every test of the run (of this worker, under xdist)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._dir: Path | None = None
        self._header: str | None = None
        self._shim: Path | None = None
        self._probe: dict[str, Any] | None = None
        self._watchdog: Watchdog | None = None
        self._lock = threading.Lock()
        #: name, version and capabilities of the engines started in this run
        self.engine_info: dict[str, Any] = {}

    @property
    def dir(self) -> Path:
        """``pytest-mjit-<pid>-*`` in the system tmp dir: removed by ``close``, by the
        watchdog when this process dies, or by a later run once this process is gone."""
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix=f"{DIR_PREFIX}{os.getpid()}-"))
            self.watchdog.remove_on_crash(str(self._dir))
        return self._dir

    @property
    def watchdog(self) -> Watchdog:
        if self._watchdog is None:
            self._watchdog = Watchdog()
        return self._watchdog

    def check(self) -> None:
        """Raise ``MjitError`` if the default engine or compiler is unusable."""
        if self.settings.problem is not None:
            raise MjitError(self.settings.problem)

    def header_file(self) -> str:
        """The host header, written once per session."""
        with self._lock:
            if self._header is None:
                from .host import write_header
                self._header = write_header(self.dir)
            return self._header

    def shim_binary(self) -> Path:
        """The shim, built once per session with the real compiler."""
        with self._lock:
            self.check()
            if self._shim is None:
                self._shim = build_shim(self.settings.cc, self.dir)
            return self._shim

    def probe(self) -> dict[str, Any]:
        """Name, version and capabilities of the engine, read from an engine that is created
        (within a deadline) but never initialised (so it starts no thread and makes no
        file); ``error`` says why there is none."""
        if self._probe is None:
            try:
                self.check()
                opts = Options(cc=self.settings.cc, cc_family=self.settings.cc_family,
                               tmp_dir=str(self.dir))
                host = make_host(opts, self.header_file())
                info = probe_factory(lambda: self.settings.factory(host, opts),
                                     self.settings.engine_spec)
                self._probe = dict(info, error=None)
            except Exception as exc:
                error = str(exc) if isinstance(exc, MjitError) else f"{type(exc).__name__}: {exc}"
                self._probe = dict(name=clean(self.settings.engine_spec), version="?",
                                   capabilities=[], error=clean(error, 400))
            if not self.engine_info and self._probe["error"] is None:
                self.engine_info = {k: self._probe[k] for k in ("name", "version", "capabilities")}
        return self._probe

    def record_engine(self, engine: Any) -> None:
        """Remember what ``engine`` says about itself; ``MjitError`` if it is no engine."""
        self.engine_info = engine_info(engine, self.settings.engine_spec)

    def close(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        if self._watchdog is not None:
            self._watchdog.close()
            self._watchdog = None


def remove_stale_session_dirs() -> list[str]:
    """Remove session dirs of pytest processes that are gone (killed before they could clean
    up); return their paths."""
    removed = []
    root = Path(tempfile.gettempdir())
    for path in root.glob(f"{DIR_PREFIX}*-*"):
        pid = path.name[len(DIR_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            if path.is_dir() and not path.is_symlink() and path.stat().st_uid == os.getuid():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(str(path))
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
