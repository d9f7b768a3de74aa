"""The CRuby profile: ``--mjit-engine=cruby:DIR`` certifies ``DIR/mjit.c`` (CRuby 2.7's MJIT,
with its ``mjit_worker.c``) built unmodified against compatibility headers that map the VM it
expects onto the pytest-mjit host (docs/c-engines.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .._cengine import CEngine
from .._options import Options
from ._build import build_engine, cache_root, ruby_version

__all__ = ["CRubyProfile", "EXPECTATIONS", "build_engine", "cache_root", "ruby_version"]

#: Expectation files of CRuby releases: their documented departures, with evidence.
EXPECTATIONS = Path(__file__).resolve().parent / "expectations"


class CRubyProfile:
    """An engine factory for the CRuby checkout ``source_dir``.

    The engine is built with ``build_cc`` (the run's real compiler, which decides CRuby's
    ``__clang__`` branches) or, when that is not set, with ``options.cc``."""

    def __init__(self, source_dir: str | os.PathLike) -> None:
        self.source_dir = Path(source_dir)
        self.build_cc: str | None = None
        self._built: dict[str, Path] = {}

    def use_compiler(self, cc: str) -> None:
        """Build with ``cc``, now: a checkout that does not build fails here, once."""
        self.build_cc = cc
        self.library(cc)

    def library(self, cc: str) -> Path:
        if cc not in self._built:
            self._built[cc] = build_engine(self.source_dir, cc)
        return self._built[cc]

    def __call__(self, host: Any, options: Options) -> CEngine:
        return CEngine(str(self.library(self.build_cc or options.cc)), host, options)

    def __repr__(self) -> str:
        return f"CRubyProfile({str(self.source_dir)!r})"
