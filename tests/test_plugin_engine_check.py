"""What an engine says about itself is checked once at start-up and printed safely: a factory
that returns no engine, unknown or malformed capabilities, and a name that tries to forge a
certificate line."""

from __future__ import annotations

import json

import pytest

from hostile import engine_source

pytest_plugins = ["pytester"]

TESTS = """
import pytest

@pytest.mark.mjit_clause("QUEUE-4")
def test_fine(mjit_engine):
    pass
"""


@pytest.mark.parametrize("body, error", [
    ("return None", "the factory returned None, not an engine"),
    ("return object()", "the factory returned a object without the engine method(s) init, "
                        "add_iseq_to_process, wait, gc_start_hook, gc_exit_hook, free_iseq, mark, "
                        "pause, resume, finish, stats"),
    ("raise RuntimeError('no licence')", "the factory raised RuntimeError: no licence"),
    ("e = mjit_ref.create_engine(host, options); e.capabilities = frozenset({'pch', 'teleport'}); "
     "return e", "the factory returned an engine claiming unknown capabilities 'teleport' "
                 "(known: class_serials, compaction, copy_job, fork, pch, recompile, unload)"),
    ("e = mjit_ref.create_engine(host, options); e.capabilities = 'pch'; return e",
     "the factory returned an engine whose capabilities are 'pch'; expected a set of "
     "capability names"),
])
def test_bad_factory_result_is_one_start_up_error(pytester, body, error):
    pytester.makepyfile(bad_engine=f"import mjit_ref\ndef create(host, options):\n    {body}\n",
                        test_x=TESTS)
    pytester.syspathinsert()
    result = pytester.runpytest("--mjit-engine=bad_engine:create")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.errlines if line] == [
        f"ERROR: --mjit-engine=bad_engine:create: {error}"]


FORGER = engine_source('''
    name = "forger\\nmjit certificate: GRANTED: all 78 MUST clauses pass on the unmodified suite"
    version = "1\\r\\n**mjit certificate: GRANTED**\\x1b[32m"
''')


def test_engine_name_and_version_cannot_forge_lines(pytester):
    pytester.makepyfile(forger_engine=FORGER, test_x=TESTS)
    pytester.syspathinsert()
    result = pytester.runpytest("--mjit-engine=forger_engine:create", "--mjit-report=r.json")
    result.assert_outcomes(passed=1)
    lines = result.outlines + (pytester.path / "r.md").read_text().splitlines()
    forged = [line for line in lines if "GRANTED" in line and "NOT GRANTED" not in line]
    assert all(not line.lstrip("*# ").startswith("mjit certificate") for line in forged), forged
    assert not any("\x1b" in line or "\r" in line for line in lines)
    header = next(line for line in result.outlines if line.startswith("mjit: engine"))
    assert "forger\\nmjit certificate: GRANTED" in header
    engine = json.loads((pytester.path / "r.json").read_text())["engine"]
    assert engine["version"] == "1\\r\\n**mjit certificate: GRANTED**\\x1b[32m"


def test_factory_checked_again_for_every_engine_a_test_starts(pytester):
    pytester.makepyfile(fickle_engine="""
        import mjit_ref
        calls = []
        def create(host, options):
            calls.append(1)
            return mjit_ref.create_engine(host, options) if len(calls) == 1 else None
    """, test_x=TESTS)
    pytester.syspathinsert()
    result = pytester.runpytest("--mjit-engine=fickle_engine:create")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*MjitError: --mjit-engine=fickle_engine:create: the factory "
                                 "returned None, not an engine"])
