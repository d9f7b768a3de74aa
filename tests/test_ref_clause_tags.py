"""mjit_ref names every MUST clause at the code that implements it.

A tag is a clause id in a comment or in the docstring of a function or class of mjit_ref;
the module docstrings carry none (a list at the top says nothing about where a clause holds),
and no line lists more than a few clauses."""

from __future__ import annotations

import ast
import io
import pathlib
import re
import tokenize

import mjit_ref
from pytest_mjit.clauses import CLAUSES

REF_DIR = pathlib.Path(mjit_ref.__file__).parent
CLAUSE_ID = re.compile(r"\b[A-Z]+-\d+\b")
#: More ids than this on one line is a list, not a tag.
MAX_IDS_PER_LINE = 3


def tags_in(source: str, filename: str) -> list[tuple[int, str, str]]:
    """(line, clause id, where) of every tag in ``source``; where is "comment", "docstring"
    or "module docstring"."""
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            found += [(tok.start[0], cid, "comment") for cid in CLAUSE_ID.findall(tok.string)]
    tree = ast.parse(source, filename)
    owners = [(tree, "module docstring")] + [
        (node, "docstring") for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    for node, where in owners:
        if node.body and isinstance(node.body[0], ast.Expr) \
                and isinstance(node.body[0].value, ast.Constant) \
                and isinstance(node.body[0].value.value, str):
            doc = node.body[0].value
            for offset, line in enumerate(doc.value.splitlines()):
                found += [(doc.lineno + offset, cid, where) for cid in CLAUSE_ID.findall(line)]
    return found


def _all_tags() -> dict[str, list[tuple[int, str, str]]]:
    return {p.name: tags_in(p.read_text(), str(p)) for p in sorted(REF_DIR.glob("*.py"))}


def test_every_must_clause_is_tagged_in_mjit_ref():
    tagged = {cid for tags in _all_tags().values() for _, cid, where in tags
              if where != "module docstring"}
    untagged = [c.id for c in CLAUSES.values() if c.must and c.id not in tagged]
    assert not untagged, ("MUST clauses with no tag at the mjit_ref code that implements "
                          f"them: {', '.join(untagged)}")


def test_tags_name_real_clauses_where_the_code_is():
    problems = []
    for name, tags in _all_tags().items():
        per_line: dict[int, int] = {}
        for line, cid, where in tags:
            per_line[line] = per_line.get(line, 0) + 1
            if cid not in CLAUSES:
                problems.append(f"mjit_ref/{name}:{line}: {cid} is not a clause")
            if where == "module docstring":
                problems.append(f"mjit_ref/{name}:{line}: {cid} tagged in the module docstring")
        problems += [f"mjit_ref/{name}:{line}: {count} clauses on one line (a list, not a tag)"
                     for line, count in per_line.items() if count > MAX_IDS_PER_LINE]
    assert not problems, "\n".join(problems)


def test_tags_are_found_in_comments_and_docstrings_only():
    source = ('"""Module QUEUE-1."""\n'
              'def f():\n'
              '    """Does GC-2."""\n'
              '    x = "STOP-3"  # COPYJOB-4 and FORK-1\n')
    assert tags_in(source, "<planted>") == [
        (4, "COPYJOB-4", "comment"), (4, "FORK-1", "comment"),
        (1, "QUEUE-1", "module docstring"), (3, "GC-2", "docstring")]
