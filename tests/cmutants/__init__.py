"""Broken C engines: each module here is CRuby 2.7.4's own ``mjit.c``/``mjit_worker.c`` with
exactly one protocol bug.

A C mutant names one of the checkout's files (``mjit.c``, ``mjit_worker.c`` or ``mjit.h``), an
exact snippet of it and its replacement.  ``CMutant.write`` puts a copy of the three files, only
that one changed, into a directory; ``create_engine`` builds that copy through the CRuby profile
(``--mjit-engine=tests.cmutants.<name>:create_engine``).  The checkout is test data, read from
``../shared/seeds/cruby-2.7.4`` beside the repository; it is never copied into the repository.
A snippet that does not occur exactly once raises ``CMutantError``, so a mutant never silently
becomes the real C.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import tempfile
from pathlib import Path
from typing import Any

from pytest_mjit.cruby import CRubyProfile, build_engine
from pytest_mjit.cruby._build import SOURCES

ROOT = Path(__file__).resolve().parents[2]
#: The CRuby checkout the mutants patch (absent on a machine without the seeds).
SEED_DIR = Path(os.path.normpath(ROOT / ".." / "shared" / "seeds" / "cruby-2.7.4"))


class CMutantError(Exception):
    """A C mutant that cannot be applied: a snippet does not match the checkout exactly once,
    a file it names is not one of the checkout's, or the checkout is missing."""


@dataclasses.dataclass(frozen=True)
class CMutant:
    """One bug: ``edits`` are ``(file, old, new)``, applied in order, each ``old`` occurring
    exactly once in the text it is applied to."""

    name: str
    edits: tuple[tuple[str, str, str], ...]

    def __post_init__(self) -> None:
        if not self.edits:
            raise CMutantError(f"C mutant {self.name}: no edit given")
        for file, old, _new in self.edits:
            if file not in SOURCES:
                raise CMutantError(f"C mutant {self.name}: {file!r} is not one of the "
                                   f"checkout's files {SOURCES}")
            if not old:
                raise CMutantError(f"C mutant {self.name}: empty snippet for {file}")

    def texts(self, source_dir: Path = SEED_DIR) -> dict[str, str]:
        """The three files of ``source_dir`` with the edits applied, by name."""
        if not source_dir.is_dir():
            raise CMutantError(f"C mutant {self.name}: no CRuby checkout at {source_dir}")
        texts = {name: (source_dir / name).read_text() for name in SOURCES}
        for file, old, new in self.edits:
            count = texts[file].count(old)
            if count != 1:
                raise CMutantError(f"C mutant {self.name}: snippet occurs {count} times in "
                                   f"{file}, expected once:\n{old}")
            texts[file] = texts[file].replace(old, new)
        return texts

    def write(self, directory: Path, source_dir: Path = SEED_DIR) -> Path:
        """Write the mutated checkout into ``directory/<checkout name>`` (the name keeps the
        checkout's version suffix) and return that directory."""
        texts = self.texts(source_dir)
        target = Path(directory) / source_dir.name
        target.mkdir(parents=True, exist_ok=True)
        for name, text in texts.items():
            (target / name).write_text(text)
        return target


class CMutantProfile(CRubyProfile):
    """The CRuby profile of a mutant: each library is built from a mutated copy written to a
    temporary directory for the build only (the build cache keeps the library)."""

    def __init__(self, mutant: CMutant) -> None:
        super().__init__(SEED_DIR)
        self.mutant = mutant
        self._libraries: dict[str, Path] = {}

    def library(self, cc: str) -> Path:
        if cc not in self._libraries:
            with tempfile.TemporaryDirectory(prefix="pmj-cmutant-") as tmp:
                self._libraries[cc] = build_engine(self.mutant.write(Path(tmp)), cc)
        return self._libraries[cc]

    def __repr__(self) -> str:
        return f"CMutantProfile({self.mutant.name!r})"


def patch(bug: str, file: str | None = None, old: str | None = None, new: str | None = None,
          *, edits: tuple[tuple[str, str, str], ...] = ()) -> CMutantProfile:
    """The engine factory of the C mutant ``bug`` (a module's ``__name__``): ``old`` replaced
    by ``new`` in ``file``, then any further ``edits``.  Nothing is read until the engine is
    built; ``CMutant.texts`` checks the snippets."""
    if file is not None:
        edits = ((file, old or "", new or ""),) + tuple(edits)
    return CMutantProfile(CMutant(bug.rsplit(".", 1)[-1], tuple(edits)))


def all_cmutants() -> list[str]:
    """Names of every C mutant module in this package."""
    here = Path(__file__).parent
    return sorted(p.stem for p in here.glob("*.py") if not p.stem.startswith("_"))


def mutant_of(name: str) -> CMutant:
    """The ``CMutant`` of module ``name`` of this package."""
    module: Any = importlib.import_module(f"{__name__}.{name}")
    return module.create_engine.mutant
