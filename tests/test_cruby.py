"""The CRuby profile: CRuby 2.7.4's own mjit.c and mjit_worker.c, built unmodified, run through
the unchanged conformance suite; and the clear errors of a checkout that does not build.

The seed sources are test data beside the repository (``../shared/seeds/cruby-2.7.4``); the
tests that need them are skipped where they are absent."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from pytest_mjit import MjitError, load_engine
from pytest_mjit.cruby import EXPECTATIONS, build_engine

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.test_certification import run_suite  # noqa: E402

pytest_plugins = ["pytester"]

SEED_DIR = ROOT.parent / "shared" / "seeds" / "cruby-2.7.4"
needs_seed = pytest.mark.skipif(not (SEED_DIR / "mjit.c").is_file(),
                                reason=f"no CRuby 2.7.4 sources at {SEED_DIR}")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A build cache of the test's own."""
    monkeypatch.setenv("PYTEST_MJIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_directory_without_mjit_c_is_named(tmp_path, cache):
    (tmp_path / "co").mkdir()
    with pytest.raises(MjitError, match=r"mjit\.c not found"):
        build_engine(tmp_path / "co", "gcc")
    with pytest.raises(MjitError, match="is not a directory"):
        load_engine(f"cruby:{tmp_path / 'absent'}")


@needs_seed
def test_a_checkout_that_does_not_build_names_the_first_error(tmp_path, cache):
    checkout = tmp_path / "co"
    checkout.mkdir()
    for name in ("mjit.c", "mjit_worker.c", "mjit.h"):
        shutil.copy(SEED_DIR / name, checkout / name)
    worker = checkout / "mjit_worker.c"
    worker.write_text(worker.read_text().replace("get_from_list(&unit_queue)",
                                                 "rb_no_such_function(&unit_queue)", 1))
    with pytest.raises(MjitError) as info:
        build_engine(checkout, "gcc")
    message = str(info.value)
    assert "does not build" in message and "rb_no_such_function" in message
    assert "\n" not in message


@needs_seed
def test_builds_are_cached_by_content(cache):
    first = build_engine(SEED_DIR, "gcc")
    assert first.is_file() and cache in first.parents
    assert build_engine(SEED_DIR, "gcc") == first


@needs_seed
def test_bad_checkout_is_one_usage_error(pytester, tmp_path, cache):
    checkout = tmp_path / "co"
    checkout.mkdir()
    (checkout / "mjit.c").write_text("#include <no_such_header.h>\n")
    (checkout / "mjit_worker.c").write_text("")
    (checkout / "mjit.h").write_text("")
    pytester.makepyfile("def test_nothing(): pass\n")
    result = pytester.runpytest_subprocess(f"--mjit-engine=cruby:{checkout}", "-p", "no:xdist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in result.errlines if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ERROR: "), lines
    assert "does not build" in lines[0] and "no_such_header.h" in lines[0]
    assert "Traceback" not in result.stdout.str()


@needs_seed
@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_cruby_2_7_4_certification_ends_in_known_verdicts(tmp_path):
    """The unchanged suite against the seed on gcc, with its expectation file: every clause
    PASS, XFAIL (a documented departure of CRuby 2.7.4) or UNSUPPORTED.  The protocol
    machines are left out here (their searches against the real C outlast CI's time; every
    clause they check has tests of its own): docs/c-engines.md gives their command."""
    report_path = tmp_path / "cruby_gcc.json"
    expect = EXPECTATIONS / "cruby-2.7.4-gcc.txt"
    output = run_suite(f"cruby:{SEED_DIR}", "gcc", report_path, f"--mjit-expect={expect}",
                       "-k", "not machine")
    assert report_path.exists(), f"the suite wrote no report:\n{output[-4000:]}"
    report = json.loads(report_path.read_text())
    assert report["engine"]["name"] == "cruby"
    unexpected = [f"{cid} {c['status']}: {c['reason'][:300]}"
                  for cid, c in report["clauses"].items()
                  if c["status"] not in ("PASS", "XFAIL", "UNSUPPORTED")]
    assert not unexpected, "\n".join(unexpected) + f"\n--- output ---\n{output[-3000:]}"
    assert not report["certificate"]["granted"]   # CRuby 2.7.4 departs from MUST clauses
