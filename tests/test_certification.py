"""The conformance suite certifies both correct engines on both compiler families: mjit_ref,
the reference, and examples.heapjit, a second engine written from PROTOCOL.md with other
structures than mjit_ref, which is evidence that the suite tests the protocol rather than the
reference engine's incidental choices (docs/engines.md).

Each compiler family gets one whole-suite run in its own pytest process (without xdist: the
outer run already spreads tests over the cores, and the two runs here land on different
workers).  The certificate is read from the run's JSON report.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: engine spec -> the name it reports
ENGINES = {"ref": "ref", "examples.heapjit:create_engine": "heapjit"}
#: Fixed seed and the quick preset, so a failure replays with the same command.
SEED = 1
PRESET = "quick"
#: Seconds one whole-suite run may take before it is interrupted.
RUN_LIMIT = 900.0
#: Seconds pytest gets after SIGINT to write its report.
INTERRUPT_GRACE = 30.0


def suite_command(engine: str, cc: str, report: Path, *extra: str) -> list[str]:
    """The command that certifies ``engine`` with compiler ``cc`` and writes ``report``."""
    return [sys.executable, "-m", "pytest", "--pyargs", "conformance", "-p", "no:cacheprovider",
            "-p", "no:xdist", "-q", "-rN", f"--mjit-engine={engine}", f"--mjit-cc={cc}",
            f"--mjit-seed={SEED}", f"--mjit-preset={PRESET}", f"--mjit-report={report}", *extra]


def run_suite(engine: str, cc: str, report: Path, *extra: str) -> str:
    """Run the suite in a new process group, bounded by RUN_LIMIT; return its output.  No
    process of the group survives the call."""
    # Its own working directory: the suite checks that no test adds files there, and the
    # checkout is where other tests running beside this one write (the kill matrix's cache).
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
    proc = subprocess.Popen(suite_command(engine, cc, report, *extra), cwd=report.parent,
                            env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=RUN_LIMIT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=INTERRUPT_GRACE)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        out += f"\n(interrupted after {RUN_LIMIT:.0f}s)"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return out


def not_passing(report: dict) -> list[str]:
    """One line per MUST clause that did not PASS, with its reason."""
    return [f"{cid} {c['status']}: {c['reason'][:200]}"
            for cid, c in report["clauses"].items()
            if c["strength"] == "M" and c["status"] != "PASS"]


@pytest.mark.parametrize("cc", ["gcc", pytest.param("clang", marks=pytest.mark.slow)])
@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_engine_is_certified(engine, cc, tmp_path):
    """The unmodified suite grants the engine its certificate, claiming every capability."""
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} is not installed")
    report_path = tmp_path / f"{ENGINES[engine]}_{cc}.json"
    output = run_suite(engine, cc, report_path)
    assert report_path.exists(), f"the suite wrote no report:\n{output[-4000:]}"
    report = json.loads(report_path.read_text())
    assert report["engine"]["name"] == ENGINES[engine]
    assert sorted(report["engine"]["capabilities"]) == sorted(
        ["pch", "copy_job", "fork", "compaction", "unload", "recompile", "class_serials"])
    certificate = report["certificate"]
    assert certificate["granted"], (
        certificate["line"] + "\n" + "\n".join(not_passing(report))
        + f"\n--- suite output (tail) ---\n{output[-3000:]}")
    assert certificate["line"] in output
