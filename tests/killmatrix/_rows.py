"""The rows of the kill matrix: their keys, the cache directory that keeps them, and the matrix
merged from them.

A row is what one item of the matrix session found: one mutant's run, or the reference
engine's run of one conformance file.  Its key is a sha256 over what decides the outcome: the
row format, seed and preset, the suite hash, and for a mutant its module and the mjit_ref
files it patches (for the reference, every mjit_ref file).  A row whose key is unchanged is
fresh and is not run again; a full session also wants full rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pytest_mjit.clauses import suite_dir, suite_hash

from ._doc import matrix_facts, mutant_entry, reference_facts
from ._meta import MUTANTS_DIR, patched_files, reference_dir
from ._run import PRESET, ROOT, SEED, SuiteRun

#: Bump when a row's content or meaning changes: every cached row becomes stale.
ROW_FORMAT = 1
DEFAULT_CACHE = ROOT / ".killmatrix"
MODES = ("fast", "full")
#: The row of the real C (the C mutants' reference), run over every area a C mutant names.
CREFERENCE = "creference:cruby"


def reference_areas() -> list[str]:
    """The conformance files, each run against the reference engine by one item."""
    root = suite_dir()
    return [] if root is None else sorted(p.name for p in root.glob("test_*.py"))


def _digest(parts: list[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _common(suite: str | None) -> list[bytes]:
    return [f"format {ROW_FORMAT} seed {SEED} preset {PRESET}".encode(),
            (suite or "no suite").encode()]


def mutant_key(name: str, suite: str | None, directory: Path = MUTANTS_DIR) -> str:
    """Key of a mutant's row: its module and the reference files it patches."""
    ref = reference_dir()
    parts = _common(suite) + [name.encode(), (directory / f"{name}.py").read_bytes()]
    for rel in patched_files(name, directory):
        parts += [rel.encode(), (ref / rel).read_bytes()]
    return _digest(parts)


def reference_key(area: str, suite: str | None) -> str:
    """Key of the reference engine's row of one conformance file: every mjit_ref file."""
    ref = reference_dir()
    parts = _common(suite) + [b"reference", area.encode()]
    for path in sorted(ref.rglob("*.py")):
        if "__pycache__" not in path.parts:
            parts += [path.relative_to(ref).as_posix().encode(), path.read_bytes()]
    return _digest(parts)


def cmutant_key(name: str, suite: str | None) -> str:
    """Key of a C mutant's row: its module and the checkout's files it patches."""
    from tests.cmatrix import CMUTANTS_DIR
    from tests.cmutants import SEED_DIR
    parts = _common(suite) + [b"cmutant", name.encode(), (CMUTANTS_DIR / f"{name}.py").read_bytes()]
    for rel in patched_files(name, CMUTANTS_DIR, SEED_DIR, (".c", ".h")):
        parts += [rel.encode(), (SEED_DIR / rel).read_bytes()]
    return _digest(parts)


def creference_key(suite: str | None, areas: list[str]) -> str:
    """Key of the real C's row: the checkout's files and the areas it runs."""
    from tests.cmutants import SEED_DIR, SOURCES
    parts = _common(suite) + [b"creference", ",".join(areas).encode()]
    return _digest(parts + [(SEED_DIR / name).read_bytes() for name in SOURCES])


def c_names() -> list[str]:
    """The C mutants, when the CRuby checkout they patch is there."""
    from tests.cmutants import SEED_DIR, all_cmutants
    return all_cmutants() if SEED_DIR.is_dir() else []


def row_keys(names: list[str], areas: list[str], cnames: list[str] = ()) -> dict[str, str]:
    """Row id (``mutant:<name>``, ``reference:<file>``, ``cmutant:<name>``,
    ``creference:cruby``) -> key, for the current sources."""
    suite = suite_hash()
    keys = {f"reference:{a}": reference_key(a, suite) for a in areas}
    keys.update({f"mutant:{n}": mutant_key(n, suite) for n in names})
    if cnames:
        from tests.cmatrix import areas_of
        keys[CREFERENCE] = creference_key(suite, sorted({a for n in cnames for a in areas_of(n)}))
        keys.update({f"cmutant:{n}": cmutant_key(n, suite) for n in cnames})
    return keys


class RowStore:
    """Rows kept as one JSON file each in a directory; only the session's controller writes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, row_id: str) -> Path:
        kind, _, name = row_id.partition(":")
        return self.directory / kind / f"{name}.json"

    def read(self, row_id: str, key: str | None = None) -> dict[str, Any] | None:
        """The row, or None when there is none (or, given ``key``, none with that key)."""
        try:
            row = json.loads(self.path(row_id).read_text())
        except (OSError, ValueError):
            return None
        return row if key is None or row.get("key") == key else None

    def fresh(self, row_id: str, key: str, mode: str) -> bool:
        """Whether the kept row has ``key`` and is good enough for a ``mode`` session (a full
        row serves a fast session too)."""
        row = self.read(row_id, key)
        return row is not None and (mode == "fast" or row.get("mode") == "full"
                                    or row_id.startswith("reference:"))

    def write(self, row_id: str, key: str, row: dict[str, Any]) -> None:
        """Keep ``row`` under ``key``, atomically (a reader sees the old row or the new)."""
        path = self.path(row_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".row-")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(dict(row, key=key), out, indent=1)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise


def run_of(row: dict[str, Any]) -> SuiteRun:
    """The suite run a row records."""
    run = row["run"]
    return SuiteRun(run["returncode"], run["timed_out"], run["duration"], run["tests"],
                    run["problem"], row.get("log_tail", ""))


def merged_reference(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The reference engine's facts from its rows (one per conformance file)."""
    runs = [run_of(r) for r in rows]
    tests = {n: t for run in runs for n, t in run.tests.items()}
    merged = SuiteRun(0, any(r.timed_out for r in runs), sum(r.duration for r in runs), tests,
                      "; ".join(r.problem for r in runs if r.problem))
    return dict(reference_facts(merged), areas=len(rows))


def ref_failing(store: RowStore, keys: dict[str, str], kind: str = "reference") -> list[str]:
    """Tests the fresh rows of ``kind`` (``reference``, ``creference``) saw fail: a mutant's
    run deselects them."""
    rows = [store.read(rid, key) for rid, key in keys.items() if rid.startswith(kind + ":")]
    return merged_reference([r for r in rows if r])["failing_tests"] if any(rows) else []


def merge(store: RowStore, keys: dict[str, str], old: dict[str, Any]) -> dict[str, Any]:
    """The matrix (docs/mutants.json) from every fresh row; the C mutants' part of ``old``
    is kept unless C rows are fresh (see merge_c)."""
    refs = [r for rid, key in keys.items() if rid.startswith("reference:")
            for r in [store.read(rid, key)] if r]
    reference = merged_reference(refs)
    mutants: dict[str, Any] = {}
    for rid, key in sorted(keys.items()):
        kind, _, name = rid.partition(":")
        if kind != "mutant":
            continue
        row = store.read(rid, key)
        if row is None:
            missing = SuiteRun(None, False, 0.0, {}, "no current row: run the kill matrix")
            mutants[name] = dict(mutant_entry(name, missing, reference), outcome="NOT RUN",
                                 cc=None, mode="-")
            continue
        entry = dict(mutant_entry(name, run_of(row), reference), cc=row["cc"],
                     mode=row["mode"])
        if entry["outcome"] != "CAUGHT" and any(
                t in reference["failing_tests"] for t in row["run"]["tests"]):
            entry["problem"] = ("caught only by tests that fail against the reference; "
                                "fix them and run the row again (--km-force)")
        mutants[name] = entry
    kept = {k: r for k, r in old.get("references", {}).items() if k.startswith("cruby-")}
    matrix = dict(preset=PRESET, seed=SEED, references=dict(kept, gcc=reference),
                  mutants=mutants,
                  **{k: old[k] for k in ("cmutants", "cmutants_not_caught") if k in old})
    merge_c(store, keys, matrix)
    matrix.update(matrix_facts(matrix))
    return matrix


def merge_c(store: RowStore, keys: dict[str, str], matrix: dict[str, Any]) -> None:
    """Put the fresh C rows into ``matrix``; a C mutant without a fresh row keeps its entry
    (the C rows run only when tests/killmatrix/cmutants.py is named)."""
    from tests import cmatrix
    cnames = sorted(rid.partition(":")[2] for rid in keys if rid.startswith("cmutant:"))
    ref_row = store.read(CREFERENCE, keys[CREFERENCE]) if CREFERENCE in keys else None
    rows = {n: store.read(f"cmutant:{n}", keys[f"cmutant:{n}"]) for n in cnames}
    if ref_row is None and not any(rows.values()):
        return
    references = matrix["references"]
    if ref_row is not None:
        references["cruby-gcc"] = merged_reference([ref_row])
    reference = references.get("cruby-gcc") or merged_reference([])
    cmutants = {n: m for n, m in (matrix.get("cmutants") or {}).items() if n in cnames}
    for name, row in rows.items():
        if row is not None:
            cmutants[name] = dict(mutant_entry(name, run_of(row), reference,
                                               cmatrix.CMUTANTS_DIR), cc=row["cc"],
                                  mode=row["mode"], areas=cmatrix.areas_of(name),
                                  gap=cmatrix.gap_reason(name))
    matrix["cmutants"] = dict(sorted(cmutants.items()))
    matrix["cmutants_not_caught"] = cmatrix.not_caught(cmutants)
