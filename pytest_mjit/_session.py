"""State of one pytest run: settings, the session directory (host header, shim binary) and
what was learned about the engine."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from ._config import Settings
from ._errors import MjitError
from ._options import Options
from ._shim import build_shim

__all__ = ["MjitSession", "make_host"]


def make_host(options: Options, header_file: str) -> Any:
    """A host VM for ``options`` whose header is ``header_file``."""
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
        self._lock = threading.Lock()
        #: name, version and capabilities of the engines started in this run
        self.engine_info: dict[str, Any] = {}

    @property
    def dir(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="pytest-mjit-"))
        return self._dir

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
        but never initialised (so it starts no thread and makes no file)."""
        if self._probe is None:
            try:
                self.check()
                opts = Options(cc=self.settings.cc, cc_family=self.settings.cc_family,
                               tmp_dir=str(self.dir))
                engine = self.settings.factory(make_host(opts, self.header_file()), opts)
                self._probe = dict(name=str(getattr(engine, "name", self.settings.engine_spec)),
                                   version=str(getattr(engine, "version", "?")),
                                   capabilities=sorted(getattr(engine, "capabilities", ())),
                                   error=None)
            except Exception as exc:
                self._probe = dict(name=self.settings.engine_spec, version="?", capabilities=[],
                                   error=f"{type(exc).__name__}: {exc}")
            if not self.engine_info and self._probe["error"] is None:
                self.engine_info = {k: self._probe[k] for k in ("name", "version", "capabilities")}
        return self._probe

    def record_engine(self, engine: Any) -> None:
        self.engine_info = dict(name=str(getattr(engine, "name", "?")),
                                version=str(getattr(engine, "version", "?")),
                                capabilities=sorted(getattr(engine, "capabilities", ())))

    def close(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
