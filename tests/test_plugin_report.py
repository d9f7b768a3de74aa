"""Markers, clause selection, the per-clause report (JSON and Markdown), the expectation file,
the certificate rule and the merge of xdist workers' results."""

from __future__ import annotations

import json

import pytest

from pytest_mjit.clauses import CLAUSES
from pytest_mjit._report import certificate

pytest_plugins = ["pytester"]

TESTS = """
    import pytest

    @pytest.mark.mjit_clause("QUEUE-1")
    def test_pass():
        pass

    @pytest.mark.mjit_clause("QUEUE-2")
    def test_fail():
        assert 1 == 2

    @pytest.mark.mjit_clause("GC-3")
    def test_expected_fail():
        assert False, "known bug"

    @pytest.mark.mjit_clause("GC-4")
    def test_expected_but_passes():
        pass

    @pytest.mark.mjit_clause("WAIT-1")
    @pytest.mark.mjit_clause("WAIT-2")
    def test_two_clauses():
        pass

    @pytest.mark.mjit_clause("STOP-1")
    def test_deadline():
        from pytest_mjit.testing import wait_for
        wait_for(lambda: False, 0.05, "nothing")

    @pytest.mark.mjit_clause("STOP-2")
    def test_skipped():
        pytest.skip("not today")

    def test_untagged():
        pass
"""


def run_report(pytester, *args):
    pytester.makepyfile(TESTS)
    (pytester.path / "expect.txt").write_text("# known\nGC-3: worker ignores gc_exit_hook\n"
                                              "GC-4: thought broken\n")
    result = pytester.runpytest("--mjit-report=out/report.json", "--mjit-expect=expect.txt",
                                "--mjit-seed=5", "-p", "no:randomly", *args)
    return result, json.loads((pytester.path / "out/report.json").read_text())


@pytest.fixture
def out_dir(pytester):
    (pytester.path / "out").mkdir()


def test_report_statuses_schema_and_markdown(pytester, out_dir):
    result, report = run_report(pytester)
    result.assert_outcomes(passed=4, failed=3, skipped=1)
    assert report["schema"] == "pytest-mjit-report/1"
    for key in ("engine", "suite", "compilers", "seed", "preset", "python", "timings",
                "clauses", "summary", "must_summary", "certificate", "expect_file"):
        assert key in report
    assert report["seed"] == 5 and report["suite"]["version"] == "0.1.0"
    assert len(report["suite"]["sha256"]) == 64
    assert report["compilers"][0]["path"].startswith("/")
    status = {cid: c["status"] for cid, c in report["clauses"].items()}
    assert set(status) == set(CLAUSES)
    assert status["QUEUE-1"] == "PASS"
    assert status["QUEUE-2"] == "FAIL"
    assert status["GC-3"] == "XFAIL"
    assert status["GC-4"] == "XPASS"
    assert status["WAIT-1"] == status["WAIT-2"] == "PASS"
    assert status["STOP-1"] == "UNRESOLVED"
    assert "harness deadline expired" in report["clauses"]["STOP-1"]["reason"]
    assert status["STOP-2"] == "UNRESOLVED"
    assert report["clauses"]["STOP-2"]["reason"] == "every test of it was skipped"
    assert status["QUEUE-3"] == "UNRESOLVED"
    assert report["clauses"]["QUEUE-3"]["reason"] == "no test ran for it"
    assert report["clauses"]["QUEUE-2"]["tests"][0]["nodeid"].endswith("::test_fail")
    assert "assert 1 == 2" in report["clauses"]["QUEUE-2"]["reason"]
    assert report["clauses"]["GC-3"]["reason"].startswith("expected: worker ignores gc_exit_hook")
    assert report["certificate"]["granted"] is False
    md = (pytester.path / "out/report.md").read_text()
    assert "| QUEUE-2 | M | QUEUE | FAIL |" in md
    assert report["certificate"]["line"] in md
    out = result.stdout.str()
    assert "mjit clauses by area" in out
    assert report["certificate"]["line"] in out


def test_a_blamed_failure_fails_only_the_clauses_it_names(pytester, out_dir):
    """A test that checks several clauses and blames its failure on one fails that one; the
    others are UNRESOLVED for it.  A blame outside the test's own clauses blames them all."""
    pytester.makepyfile("""
        import pytest
        from pytest_mjit.testing import blame

        @pytest.mark.mjit_clause("GC-1")
        @pytest.mark.mjit_clause("GC-2")
        @pytest.mark.mjit_clause("GC-4")
        def test_machine(request):
            blame(request.node, ["GC-2"])
            pytest.fail("gc_start_hook never returned")

        @pytest.mark.mjit_clause("LOAD-1")
        @pytest.mark.mjit_clause("LOAD-2")
        def test_blames_a_clause_it_does_not_check(request):
            blame(request.node, ["QUEUE-1"])
            assert False
    """)
    pytester.runpytest("--mjit-report=out/report.json", "-p", "no:randomly")
    clauses = json.loads((pytester.path / "out/report.json").read_text())["clauses"]
    status = {cid: c["status"] for cid, c in clauses.items()}
    assert status["GC-2"] == "FAIL"
    assert "gc_start_hook never returned" in clauses["GC-2"]["reason"]
    assert status["GC-1"] == status["GC-4"] == "UNRESOLVED"
    assert clauses["GC-1"]["reason"] == "the test stopped at a failure of GC-2"
    assert status["LOAD-1"] == status["LOAD-2"] == "FAIL"
    assert status["QUEUE-1"] == "UNRESOLVED"


def test_certificate_line_explains_denial(pytester, out_dir):
    _result, report = run_report(pytester)
    line = report["certificate"]["line"]
    assert line.startswith("mjit certificate: NOT GRANTED: ")
    assert "expectation file lists MUST clauses: GC-3, GC-4" in line
    assert "clause test(s) from outside the conformance suite took part" in line


def test_clause_glob_selects_tests(pytester, out_dir):
    result, report = run_report(pytester, "--mjit-clauses=WAIT-*,QUEUE-1")
    result.assert_outcomes(passed=2, deselected=6)
    assert set(report["clauses"]) == {c for c in CLAUSES if c.startswith("WAIT-")} | {"QUEUE-1"}


def test_xdist_workers_merge_into_one_report(pytester, out_dir):
    result, report = run_report(pytester, "-n", "2")
    result.assert_outcomes(passed=4, failed=3, skipped=1)
    status = {cid: c["status"] for cid, c in report["clauses"].items()}
    assert (status["QUEUE-1"], status["QUEUE-2"], status["GC-3"], status["STOP-1"]) == (
        "PASS", "FAIL", "XFAIL", "UNRESOLVED")
    assert report["seed"] == 5


def test_xdist_workers_share_the_controllers_seed(pytester):
    pytester.makepyfile("""
        import pytest
        @pytest.mark.parametrize("n", range(4))
        def test_seed(n, request):
            from pytest_mjit._fixtures import session_of
            with open(f"seed{n}.txt", "w") as f:
                f.write(str(session_of(request.config).settings.seed))
    """)
    pytester.runpytest("-n", "2").assert_outcomes(passed=4)
    seeds = {(pytester.path / f"seed{n}.txt").read_text() for n in range(4)}
    assert len(seeds) == 1


def test_unknown_clause_id_is_a_collection_error(pytester):
    pytester.makepyfile("""
        import pytest
        @pytest.mark.mjit_clause("QUEUE-99")
        def test_x():
            pass
    """)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*::test_x: unknown clause id 'QUEUE-99' (not in the clause "
                                 "registry)"])


def test_unknown_capability_is_a_collection_error(pytester):
    pytester.makepyfile("""
        import pytest
        @pytest.mark.mjit_requires("teleport")
        def test_x():
            pass
    """)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*::test_x: mjit_requires takes one capability of *, got "
                                 "('teleport',)"])


def test_markers_are_registered(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.mjit_clause(id):*",
                                 "@pytest.mark.mjit_requires(capability):*",
                                 "@pytest.mark.mjit_options(**overrides):*"])


def test_no_clause_tests_no_summary(pytester):
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest()
    assert "mjit certificate" not in result.stdout.str()


MUSTS = {c.id: "PASS" for c in CLAUSES.values() if c.must}


def test_certificate_granted_only_when_every_must_passes_on_the_recorded_suite():
    granted, line = certificate(MUSTS, {}, "abc", "abc")
    assert granted and line == (f"mjit certificate: GRANTED: all {len(MUSTS)} MUST clauses "
                                "pass on the unmodified suite")
    assert certificate({**MUSTS, "COMPILE-6": "FAIL"}, {"COMPILE-6": "noisy"}, "abc", "abc")[0]


@pytest.mark.parametrize("statuses, expect, sha, recorded, outside, why", [
    ({**MUSTS, "GC-1": "XFAIL"}, {"GC-1": "bug"}, "a", "a", 0,
     f"1 of {len(MUSTS)} MUST clauses not PASS (1 XFAIL); expectation file lists MUST "
     "clauses: GC-1"),
    ({**MUSTS, "FORK-1": "UNSUPPORTED"}, {}, "a", "a", 0,
     f"1 of {len(MUSTS)} MUST clauses not PASS (1 UNSUPPORTED)"),
    (MUSTS, {}, "a", "b", 0, "the conformance suite is modified (hash differs from SUITE_HASH)"),
    (MUSTS, {}, "a", None, 0, "no recorded hash for the conformance suite"),
    (MUSTS, {}, None, None, 0, "the conformance suite is not installed"),
    (MUSTS, {}, "a", "a", 2, "2 clause test(s) from outside the conformance suite took part"),
])
def test_certificate_denied(statuses, expect, sha, recorded, outside, why):
    granted, line = certificate(statuses, expect, sha, recorded, outside)
    assert not granted and line == f"mjit certificate: NOT GRANTED: {why}"


def test_listed_clause_whose_deadline_expired_is_expected():
    """A documented departure may show as a wait that never ends: a listed clause whose
    harness deadline expired is XFAIL; unlisted it stays UNRESOLVED, and a listed clause
    with no test stays UNRESOLVED."""
    from pytest_mjit._report import TestRecord, clause_status

    clause = CLAUSES["WAIT-2"]
    hung = TestRecord("t", ["WAIT-2"], status="UNRESOLVED",
                      reason="harness deadline expired in call: deadline of 20.0s expired: x")
    assert clause_status(clause, [hung], "60 s timeout", None)[0] == "XFAIL"
    assert clause_status(clause, [hung], None, None)[0] == "UNRESOLVED"
    assert clause_status(clause, [], "60 s timeout", None)[0] == "UNRESOLVED"


def test_a_test_stopped_at_another_clause_does_not_hide_this_clauses_evidence():
    """A protocol machine that stopped at another clause's failure says nothing of this
    clause: the clause's reason (and so its expectation) comes from its own unresolved test,
    whichever order the tests ran in; with no such test the stop is the reason."""
    from pytest_mjit._report import TestRecord, clause_status

    clause = CLAUSES["QUEUE-6"]
    machine = TestRecord("m", ["QUEUE-6", "STOP-2"], status="FAIL", reason="x",
                         failed=["STOP-2"]).for_clause("QUEUE-6")
    hung = TestRecord("t", ["QUEUE-6"], status="UNRESOLVED",
                      reason="harness deadline expired in call: deadline of 30.0s expired: m0")
    for tests in ([machine, hung], [hung, machine]):
        assert clause_status(clause, tests, None, None) == ("UNRESOLVED", hung.reason)
        assert clause_status(clause, tests, "no header", None)[0] == "XFAIL"
    status, reason = clause_status(clause, [machine], "no header", None)
    assert status == "UNRESOLVED" and reason.startswith("the test stopped at a failure of STOP-2")
