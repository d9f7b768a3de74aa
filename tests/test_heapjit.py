"""heapjit's own regressions: protocol bugs found in it by the protocol machines that the
fixed suite does not exercise, each pinned by a test run against it through the plugin."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

pytest_plugins = ["pytester"]

_DISABLED_FINISH = """
    from pytest_mjit.testing import (COMPILE_WAIT, STEP_WAIT, call_to_enqueue, define_affine,
                                     wait_for)

    def test_finish_reads_nothing_of_an_iseq_freed_after_the_engine_disabled_itself(
            mjit_cc, mjit_start):
        build = mjit_cc.hang(kind="pch")    # exits 1 once released: the header fails
        host, engine = mjit_start()
        build.wait_reached(COMPILE_WAIT)
        queued = define_affine(host, "queued", 3)
        call_to_enqueue(host, queued, host.options.min_calls)
        build.release()
        wait_for(lambda: not engine.enabled, STEP_WAIT, "the engine to disable itself")
        host.unroot(queued)
        host.gc()               # a disabled engine marks nothing: the queued ISeq goes
        assert queued.freed
        engine.finish()
        assert not host.violations, host.violations
"""


def test_a_disabled_engine_forgets_iseqs_freed_after(pytester, monkeypatch):
    """After a failed header build disabled heapjit, GC freed a queued method; its
    ``free_iseq`` returned early on a disabled engine, so ``finish``, which still frees the
    units it holds, read the freed ISeq's body (found by the controlled protocol machine in
    a certification run under load, seed 2013)."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
    pytester.makepyfile(test_disabled_finish=_DISABLED_FINISH)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly",
                                           "--mjit-engine=examples.heapjit:create_engine")
    result.assert_outcomes(passed=1)
