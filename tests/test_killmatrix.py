"""The kill matrix's session plumbing (tests/killmatrix/): what it collects and deselects, how
rows are keyed and merged, the order a fast row runs the suite in, and how a hung run ends.
Nothing here runs the suite against a mutant: that is the matrix itself."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # tests.killmatrix lives in the source tree
    sys.path.insert(0, str(ROOT))

from tests.killmatrix import _meta, _rows, _run  # noqa: E402
from tests.killmatrix import conftest as km  # noqa: E402

pytest_plugins = ["pytester"]
MATRIX = ROOT / "tests" / "killmatrix" / "matrix.py"


def collected(result) -> list[str]:
    return [line for line in result.outlines if "::test_" in line]


def test_collects_one_item_per_mutant_and_per_conformance_file(pytester, tmp_path):
    result = pytester.runpytest_inprocess(str(MATRIX), "--collect-only", "-q", "-p", "no:xdist",
                                          f"--km-cache={tmp_path}")
    items = collected(result)
    mutants = [i for i in items if "::test_mutant[" in i]
    references = [i for i in items if "::test_reference[" in i]
    assert [i.split("[")[1].rstrip("]") for i in mutants] == _meta.mutant_names()
    assert [i.split("[")[1].rstrip("]") for i in references] == _rows.reference_areas()
    assert items.index(references[-1]) < items.index(mutants[0]), "reference items first"
    assert not list(tmp_path.iterdir()), "collecting writes no row"


def test_fresh_rows_are_deselected_and_a_full_session_wants_full_rows(pytester, tmp_path):
    name = _meta.mutant_names()[0]
    keys = _rows.row_keys([name], [])
    store = _rows.RowStore(tmp_path)
    store.write(f"mutant:{name}", keys[f"mutant:{name}"], dict(kind="mutant", name=name,
                                                               mode="fast"))
    args = [str(MATRIX), "--collect-only", "-q", "-p", "no:xdist", f"--km-cache={tmp_path}"]
    assert f"test_mutant[{name}]" not in "\n".join(
        collected(pytester.runpytest_inprocess(*args)))
    assert f"test_mutant[{name}]" in "\n".join(
        collected(pytester.runpytest_inprocess(*args, "--km-full")))
    assert f"test_mutant[{name}]" in "\n".join(
        collected(pytester.runpytest_inprocess(*args, "--km-force")))


@pytest.fixture
def mutant_tree(tmp_path, monkeypatch):
    """A copy of mjit_ref and a mutants directory holding one mutant that patches _worker.py."""
    ref = tmp_path / "mjit_ref"
    shutil.copytree(_meta.reference_dir(), ref, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(_meta, "reference_dir", lambda: ref)
    monkeypatch.setattr(_rows, "reference_dir", lambda: ref)
    mutants = tmp_path / "mutants"
    mutants.mkdir()
    (mutants / "m.py").write_text(textwrap.dedent('''\
        """A bug.

        Breaks QUEUE-6 and PCH-7 (clang)."""
        from . import mutate
        create_engine = mutate(__name__, "_worker.py", old="a", new="b")
        '''))
    return ref, mutants


def test_a_row_key_follows_the_patch_the_patched_files_and_the_suite(mutant_tree):
    ref, mutants = mutant_tree
    assert _meta.patched_files("m", mutants) == ["_worker.py"]
    assert _meta.declared_clauses("m", mutants) == ["PCH-7", "QUEUE-6"]
    assert _meta.compilers_of("m", mutants) == ["clang", "gcc"]
    key = _rows.mutant_key("m", "suite1", mutants)
    assert _rows.mutant_key("m", "suite1", mutants) == key
    assert _rows.mutant_key("m", "suite2", mutants) != key
    other = next(p for p in ref.glob("*.py") if p.name != "_worker.py")
    other.write_text(other.read_text() + "\n# touched\n")
    assert _rows.mutant_key("m", "suite1", mutants) == key, "a file it does not patch"
    (ref / "_worker.py").write_text((ref / "_worker.py").read_text() + "\n# touched\n")
    touched = _rows.mutant_key("m", "suite1", mutants)
    assert touched != key
    (mutants / "m.py").write_text((mutants / "m.py").read_text() + "# touched\n")
    assert _rows.mutant_key("m", "suite1", mutants) not in (key, touched)


def _row(kind: str, name: str, tests: dict, mode: str = "fast", cc: str = "gcc") -> dict:
    return dict(kind=kind, name=name, mode=mode, cc=cc, log_tail="",
                run=dict(returncode=1, timed_out=False, duration=1.0, problem="", tests=tests))


def _test(status: str, clauses: list[str]) -> dict:
    return dict(status=status, reason="why", duration=0.5, clauses=clauses)


def test_rows_merge_into_the_matrix(tmp_path):
    names = _meta.mutant_names()[:3]
    area = _rows.reference_areas()[0]
    keys = {f"reference:{area}": "r", **{f"mutant:{n}": f"k{i}" for i, n in enumerate(names)}}
    store = _rows.RowStore(tmp_path)
    flaky = f"conformance/{area}::test_flaky"
    store.write(f"reference:{area}", "r", _row("reference", area, {
        f"conformance/{area}::test_good": _test("PASS", ["QUEUE-1"]),
        flaky: _test("FAIL", ["QUEUE-2"])}))
    store.write(f"mutant:{names[0]}", "k0", _row("mutant", names[0], {
        f"conformance/{area}::test_good": _test("FAIL", ["QUEUE-1"])}, cc="clang"))
    store.write(f"mutant:{names[1]}", "k1", _row("mutant", names[1], {
        flaky: _test("FAIL", ["QUEUE-2"])}, mode="full"))
    store.write(f"mutant:{names[2]}", "stale", _row("mutant", names[2], {}))
    old = dict(references={"cruby-gcc": dict(failing_tests=[], clauses_with_tests=[])},
               cmutants={"c": {}})
    matrix = _rows.merge(store, keys, old)
    first, second, third = (matrix["mutants"][n] for n in names)
    assert (first["outcome"], first["cc"], first["mode"], first["clauses"]) == (
        "CAUGHT", "clang", "fast", ["QUEUE-1"])
    assert second["outcome"] == "NOT CAUGHT" and "fail against the reference" in second["problem"]
    assert third["outcome"] == "NOT RUN", "a row with another key is stale"
    assert matrix["references"]["gcc"]["failing_tests"] == [flaky]
    assert set(matrix["references"]) == {"gcc", "cruby-gcc"} and matrix["cmutants"] == {"c": {}}
    assert matrix["not_caught"] == sorted(names[1:])
    assert matrix["must_clauses_catching_none"] is None, "fast rows say nothing about clauses"
    assert _rows.ref_failing(store, keys) == [flaky]


def test_the_controller_keeps_the_row_a_report_carries(tmp_path):
    name = _meta.mutant_names()[0]
    controller = km.Controller(_rows.RowStore(tmp_path), {f"mutant:{name}": "key"})
    row = _row("mutant", name, {})
    report = pytest.TestReport(f"matrix.py::test_mutant[{name}]", ("matrix.py", 0, "x"), {},
                               "passed", None, "call",
                               user_properties=[(km.ROW_PROPERTY, json.dumps(row))])
    km._CONTROLLERS.append(controller)
    try:
        km.pytest_runtest_logreport(report)
    finally:
        km._CONTROLLERS.remove(controller)
    assert controller.written == [f"mutant:{name}"]
    assert controller.store.read(f"mutant:{name}", "key") == dict(row, key="key")


def test_a_fast_row_runs_the_declared_clauses_then_their_areas_then_the_rest(pytester):
    pytester.makepyfile(test_order=textwrap.dedent("""\
        import pytest

        @pytest.mark.mjit_clause("GC-1")
        def test_other(): pass

        @pytest.mark.mjit_clause("QUEUE-1")
        def test_protocol_machine(): pass

        @pytest.mark.mjit_clause("QUEUE-2")
        def test_same_area(): pass

        @pytest.mark.mjit_clause("QUEUE-6")
        def test_declared(): pass
        """))
    result = pytester.runpytest_inprocess("-p", "tests.killmatrix._order", "--km-focus=QUEUE-6",
                                          "--collect-only", "-q", "-p", "no:xdist")
    assert [line.split("::")[1] for line in collected(result)] == [
        "test_declared", "test_same_area", "test_other", "test_protocol_machine"]


def test_a_hung_test_is_killed_and_counts_as_unresolved(tmp_path):
    test_file = tmp_path / "test_hangs.py"
    test_file.write_text("import time\n\ndef test_first():\n    pass\n\n"
                         "def test_hangs():\n    time.sleep(600)\n")
    run = _run.run_suite("ref", tmp_path / "report.json", None, 300.0, tests=[str(test_file)],
                         idle=3.0)
    hung = f"{test_file}::test_hangs"
    assert run.timed_out and "without progress" in run.problem
    assert [n for n in run.tests if "test_hangs" in n] and all(
        t["status"] == "UNRESOLVED" for n, t in run.tests.items() if "test_hangs" in n), (
        hung, run.tests, run.log[-2000:])


def test_running_test_reads_a_verbose_log():
    log = ("a.py::test_one PASSED [ 50%]\n"
           "a.py::test_two ")
    assert _run.running_test(log) == "a.py::test_two"
    assert _run.running_test(log + "FAILED [100%]\n") is None
    assert _run.idle_limit("a.py::test_protocol_machine", 60) > _run.idle_limit("a.py::t", 60)


def test_c_rows_merge_and_a_c_mutant_without_a_row_keeps_its_entry(tmp_path):
    from tests.cmutants import all_cmutants
    first, second = all_cmutants()[:2]
    keys = {_rows.CREFERENCE: "cr", f"cmutant:{first}": "c0", f"cmutant:{second}": "c1"}
    store = _rows.RowStore(tmp_path)
    departure = "conformance/test_wait.py::test_departs"
    store.write(_rows.CREFERENCE, "cr", _row("creference", "cruby", {
        departure: _test("FAIL", ["WAIT-2"])}, mode="areas"))
    store.write(f"cmutant:{first}", "c0", _row("cmutant", first, {
        "conformance/test_gc.py::test_x": _test("FAIL", ["GC-2"]),
        departure: _test("FAIL", ["WAIT-2"])}, mode="areas"))
    old = dict(references={}, cmutants={second: dict(outcome="CAUGHT", kept=True),
                                        "gone": dict(outcome="CAUGHT")})
    matrix = _rows.merge(store, keys, old)
    assert matrix["references"]["cruby-gcc"]["failing_tests"] == [departure]
    entry = matrix["cmutants"][first]
    assert entry["outcome"] == "CAUGHT" and [t["nodeid"] for t in entry["tests"]] == [
        "conformance/test_gc.py::test_x"], "the real C's departures catch nothing"
    assert matrix["cmutants"][second] == dict(outcome="CAUGHT", kept=True)
    assert "gone" not in matrix["cmutants"]
