"""Broken engines: each module here is mjit_ref with exactly one protocol bug.

A mutant names one source file of mjit_ref, a snippet of it and its replacement.  ``mutate``
loads a private copy of the whole mjit_ref package under a new name in which only that file
differs, so a mutant can live in the same process as the reference engine and a mutant whose
snippet no longer matches the reference fails loudly instead of silently testing nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import pathlib
import sys
from typing import Any, Callable

import mjit_ref

REF_DIR = pathlib.Path(mjit_ref.__file__).resolve().parent


class MutantError(Exception):
    """A mutant's snippet does not match the reference source exactly once."""


class _MutantLoader(importlib.abc.SourceLoader):
    """Loads a module of the copy from the reference file, with one file's text replaced.
    It never reads or writes bytecode caches, so the reference's caches stay untouched."""

    def __init__(self, path: pathlib.Path, replaced: dict[pathlib.Path, bytes]) -> None:
        self._path = path
        self._replaced = replaced

    def get_filename(self, fullname: str) -> str:
        return str(self._path)

    def get_data(self, path: str) -> bytes:
        p = pathlib.Path(path)
        if p in self._replaced:
            return self._replaced[p]
        return p.read_bytes()


class _MutantFinder(importlib.abc.MetaPathFinder):
    def __init__(self, package: str, replaced: dict[pathlib.Path, bytes]) -> None:
        self._package = package
        self._replaced = replaced

    def find_spec(self, fullname: str, path: Any, target: Any = None):
        if fullname == self._package:
            file, is_pkg = REF_DIR / "__init__.py", True
        elif fullname.startswith(self._package + "."):
            rest = fullname[len(self._package) + 1:].replace(".", "/")
            file, is_pkg = REF_DIR / f"{rest}.py", False
            if not file.exists():
                file, is_pkg = REF_DIR / rest / "__init__.py", True
            if not file.exists():
                return None
        else:
            return None
        return importlib.util.spec_from_file_location(
            fullname, file, loader=_MutantLoader(file, self._replaced),
            submodule_search_locations=[str(file.parent)] if is_pkg else None)


def mutate(bug: str, file: str | None = None, old: str | None = None, new: str | None = None,
           *, edits: tuple[tuple[str, str, str], ...] = ()) -> Callable[[Any, Any], Any]:
    """The ``create_engine`` of mjit_ref with ``old`` replaced by ``new`` in ``file``
    (a path relative to the mjit_ref package).  ``old`` must occur exactly once.

    A bug that takes more than one place to plant gives ``edits``, a tuple of
    ``(file, old, new)`` applied in order, each held to the same rule."""
    if file is not None:
        edits = ((file, old, new),) + tuple(edits)
    if not edits:
        raise MutantError(f"mutant {bug}: no edit given")
    replaced: dict[pathlib.Path, str] = {}
    for name, before, after in edits:
        path = REF_DIR / name
        text = replaced.get(path, None)
        text = path.read_text() if text is None else text
        count = text.count(before)
        if count != 1:
            raise MutantError(f"mutant {bug}: snippet occurs {count} times in mjit_ref/{name}, "
                              f"expected once:\n{before}")
        replaced[path] = text.replace(before, after)
    package = "_mjit_mutant_" + bug.rsplit(".", 1)[-1]
    if package not in sys.modules:
        sys.meta_path.insert(0, _MutantFinder(
            package, {path: text.encode() for path, text in replaced.items()}))
        importlib.import_module(package)
    return sys.modules[package].create_engine


def all_mutants() -> list[str]:
    """Names of every mutant module in this package."""
    here = pathlib.Path(__file__).parent
    return sorted(p.stem for p in here.glob("*.py") if not p.stem.startswith("_"))
