"""The C engine interface: a library built against pytest_mjit_engine.h shares the method
bodies with the host, is found by ``clib:PATH``, and is abandoned cleanly when it blocks."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from pytest_mjit import JitState, MjitError, Options, load_engine
from pytest_mjit._cengine import HEADER_DIR, CEngine
from pytest_mjit.testing import DeadlineExceeded, deadline
from pytest_mjit.host import Host, Insn

STUCK = Path(__file__).parent / "cengines" / "stuck.c"
CC = shutil.which("gcc") or shutil.which("clang")
pytestmark = pytest.mark.skipif(CC is None, reason="needs gcc or clang")


def _build(tmp_path: Path, *defines: str) -> str:
    out = tmp_path / "stuck.so"
    subprocess.run([CC, "-shared", "-fPIC", "-O1", f"-I{HEADER_DIR}", *defines, "-o", str(out),
                    str(STUCK)], check=True, capture_output=True, timeout=120)
    return str(out)


@pytest.fixture
def stuck(tmp_path):
    library = _build(tmp_path)
    opts = Options(cc=CC, tmp_dir=str(tmp_path), min_calls=2)
    host = Host(opts)
    engine = CEngine(library, host, opts)
    host.attach(engine)
    engine.init()
    yield host, engine
    engine.finish()
    # Its worker ignores finish; abandoning the engine is what makes it unwind.
    engine.abandon(MjitError("the test is over"))
    for worker in [t for t in threading.enumerate() if t.name == "stuck-worker"]:
        worker.join(5.0)
        assert not worker.is_alive()
    host.close()


def test_c_engine_reads_and_writes_the_body_in_place(stuck):
    host, engine = stuck
    m = host.define("m", [Insn("arg", 0), Insn("ret")], argc=1)
    assert engine.name == "stuck" and engine.capabilities == frozenset()
    host.call(m, 1)
    host.call(m, 1)           # the call path queues it at min_calls = 2
    assert m.body.jit_func == JitState.NOT_READY    # written by C, read by the call path
    assert engine.stats()["seen_calls"] == 2        # counted by the host, read by C


def test_blocked_c_engine_is_abandoned_at_the_deadline(stuck):
    host, engine = stuck
    worker = [t for t in threading.enumerate() if t.name == "stuck-worker"]
    assert len(worker) == 1, worker
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        with deadline(0.5, "gc_start_hook of an engine that never lets go"):
            engine.gc_start_hook()
    assert time.monotonic() - started < 5
    assert engine.abandoned
    # Its worker, blocked on a condition, gives up too and ends.
    worker[0].join(5.0)
    assert not worker[0].is_alive()
    assert engine.stats()["gave_up"] == 2
    with pytest.raises(MjitError, match="abandoned"):
        engine.pause()


def test_library_without_an_entry_point_is_refused(tmp_path):
    library = _build(tmp_path, "-DPMJ_MISSING_STATS")
    opts = Options(cc=CC, tmp_dir=str(tmp_path))
    with Host(opts) as host, pytest.raises(MjitError, match="does not export pmj_stats"):
        CEngine(library, host, opts)


def test_clib_spec_names_a_library(tmp_path):
    library = _build(tmp_path)
    factory = load_engine(f"clib:{library}")
    opts = Options(cc=CC, tmp_dir=str(tmp_path))
    with Host(opts) as host:
        engine = factory(host, opts)
        assert engine.name == "stuck"
    with pytest.raises(MjitError, match="no C engine library"):
        load_engine(f"clib:{tmp_path / 'missing.so'}")
