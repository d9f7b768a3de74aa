"""What the kill matrix knows of a mutant without importing it: its name, docstring, the
clauses it declares it breaks, its declared compiler, the reference files it patches."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

from ._run import ROOT

MUTANTS_DIR = ROOT / "tests" / "mutants"
DOCS = ROOT / "docs"
MATRIX_JSON = DOCS / "mutants.json"
MATRIX_MD = DOCS / "mutants.md"
#: Test statuses (pytest_mjit report) that mean the suite reported a problem.
CATCHING = ("FAIL", "UNRESOLVED")
COMPILERS = ("gcc", "clang")
_CLAUSE_ID = re.compile(r"\b[A-Z]+-\d+\b")
_BREAKS = re.compile(r"\bBreaks\b([^.]*)")


def mutant_names() -> list[str]:
    """The mutants of the matrix: modules of tests/mutants/ except ``_*`` and ``sm_*``."""
    return sorted(p.stem for p in MUTANTS_DIR.glob("*.py")
                  if not p.stem.startswith(("_", "sm_")))


def summary_of(name: str, directory: Path = MUTANTS_DIR, whole: bool = False) -> str:
    """First paragraph (or, with ``whole``, all) of the docstring of mutant ``name`` of
    ``directory`` on one line, read without importing it."""
    doc = ast.get_docstring(ast.parse((directory / f"{name}.py").read_text())) or ""
    return " ".join((doc if whole else doc.strip().split("\n\n")[0]).split())


def equivalent_reason(name: str, directory: Path = MUTANTS_DIR) -> str | None:
    """Why the mutant cannot be told from mjit_ref, if its module says so with a top-level
    ``EQUIVALENT = "..."``; such a mutant is listed but not required to be caught."""
    return declared(name, "EQUIVALENT", directory)


def declared(name: str, constant: str, directory: Path = MUTANTS_DIR) -> str | None:
    """The string a mutant's module assigns to the top-level ``constant``, read without
    importing it, or None."""
    for node in ast.parse((directory / f"{name}.py").read_text()).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == constant
                and isinstance(node.value, ast.Constant)):
            return str(node.value.value)
    return None


def declared_clauses(name: str, directory: Path = MUTANTS_DIR) -> list[str]:
    """The clause ids of the sentences of the docstring that begin "Breaks" ("Breaks QUEUE-6
    and GC-2 (clang)." gives QUEUE-6 and GC-2)."""
    doc = summary_of(name, directory, whole=True)
    return sorted({c for m in _BREAKS.finditer(doc) for c in _CLAUSE_ID.findall(m.group(1))},
                  key=clause_key)


def compilers_of(name: str, directory: Path = MUTANTS_DIR) -> list[str]:
    """The compilers to try, in order: the one a "Breaks ... (clang)" sentence names first."""
    doc = summary_of(name, directory, whole=True)
    named = [cc for cc in COMPILERS
             if any(f"({cc})" in m.group(1) for m in _BREAKS.finditer(doc))]
    return named + [cc for cc in COMPILERS if cc not in named]


def reference_dir() -> Path:
    """The mjit_ref package directory that mutants patch (found without importing it)."""
    spec = importlib.util.find_spec("mjit_ref")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the mjit_ref package is not importable")
    return Path(next(iter(spec.submodule_search_locations)))


def patched_files(name: str, directory: Path = MUTANTS_DIR, ref: Path | None = None,
                  suffixes: tuple[str, ...] = (".py",)) -> list[str]:
    """The files of ``ref`` (default: mjit_ref) a mutant's module names, relative paths: the
    files it patches."""
    ref = reference_dir() if ref is None else ref
    tree = ast.parse((directory / f"{name}.py").read_text())
    return sorted({node.value for node in ast.walk(tree)
                   if isinstance(node, ast.Constant) and isinstance(node.value, str)
                   and node.value.endswith(suffixes) and "\n" not in node.value
                   and (ref / node.value).is_file()})


def engine_spec(name: str | None) -> str:
    """``--mjit-engine`` value of a mutant, or of the reference engine for None."""
    return "ref" if name is None else f"tests.mutants.{name}:create_engine"


def clause_key(cid: str) -> tuple[str, int]:
    area, _, num = cid.rpartition("-")
    return area, int(num) if num.isdigit() else 0
