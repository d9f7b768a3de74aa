"""The kill matrix: the conformance suite run against every mutant of tests/mutants/.

Each mutant is mjit_ref with one protocol bug.  The matrix is a pytest session with one item
per mutant (and one per conformance file for the reference engine), so pytest-xdist spreads it
over local processes (``-n``) and other machines (``--tx``)::

    python3 -m pytest tests/killmatrix/matrix.py -n 2            # fast: stop at the first catch
    python3 -m pytest tests/killmatrix/matrix.py -n 2 --km-full  # every test against every mutant

Each item runs the suite in a pytest process of its own (``--mjit-engine=tests.mutants.<name>:
create_engine``, a JSON report), which a mutant may hang or crash without harm.  Rows are kept
in a cache directory keyed by the mutant's patch, the files it patches and the suite hash, so a
session runs only stale rows; at its end the controller merges every row into
docs/mutants.json and docs/mutants.md.  See docs/mutants.md for the recipes.
"""

from __future__ import annotations

from ._doc import (BLANKET_SHARE, catching_tests, cell, matrix_facts, markdown, must_clauses,
                   mutant_entry, reference_facts, row_cells)
from ._meta import (CATCHING, DOCS, MATRIX_JSON, MATRIX_MD, MUTANTS_DIR, clause_key,
                    compilers_of, declared, declared_clauses, engine_spec, equivalent_reason,
                    mutant_names, patched_files, summary_of)
from ._run import (PRESET, ROOT, SEED, SuiteRun, failures_in_log, load_run, run_suite,
                   suite_command, tests_of)

__all__ = ["BLANKET_SHARE", "CATCHING", "DOCS", "MATRIX_JSON", "MATRIX_MD", "MUTANTS_DIR",
           "PRESET", "ROOT", "SEED", "SuiteRun", "catching_tests", "cell", "clause_key",
           "compilers_of", "declared", "declared_clauses", "engine_spec", "equivalent_reason",
           "failures_in_log", "load_run", "markdown", "matrix_facts", "must_clauses",
           "mutant_entry", "mutant_names", "patched_files", "reference_facts", "row_cells",
           "run_suite", "suite_command", "summary_of", "tests_of"]
