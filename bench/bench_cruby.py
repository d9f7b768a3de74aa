"""CRuby 2.7's own MJIT (the CRuby profile) against the raw toolchain, beside mjit_ref.

Run: ``python bench/bench_cruby.py [--seed-dir DIR] [--units N] [--sizes 10,100,1000]``

* per-unit latency: ``add_iseq_to_process`` to the published ``jit_func``, against the floor
  of the same ``.c`` through the same compile and link argv and a dlopen, in the same run; and
  mjit_ref's ratio measured the same way in the same run;
* compaction: N methods queued at once (so the queue drains once), CRuby's own timing of its
  compaction link (its verbose line) against a bare link of the same ``.o`` files.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_latency import (  # noqa: E402
    _program, _until, bench_latency, raw_floor, spawn, time_units)

from mjit_ref._log import Log  # noqa: E402
from mjit_ref._toolchain import Toolchain  # noqa: E402
from pytest_mjit import Options  # noqa: E402
from pytest_mjit.cruby import CRubyProfile  # noqa: E402
from pytest_mjit.host import Host  # noqa: E402

SEED_DIR = ROOT.parent / "shared" / "seeds" / "cruby-2.7.4"


def _toolchain(cc: str) -> Toolchain:
    """The argv CRuby's mjit_worker.c forms on Linux (mjit_ref forms the same)."""
    return Toolchain(cc, "gcc" if "gcc" in cc else "clang", False, (), Log(0, False))


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class _Speech:
    """What a CRuby engine printed on fd 2: ``now()`` while it runs, ``text`` once finished."""

    def __init__(self, log) -> None:
        self._log = log
        self.text = ""

    def now(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")


@contextlib.contextmanager
def _engine_speaking(profile: CRubyProfile, options: Options):
    """An initialised CRuby engine whose fd-2 output (with verbose 1, its own timings) is
    collected; yields (host, engine, speech).  speech.text is complete after the block, once
    finish has stopped the worker."""
    host = Host(options)
    engine = profile(host, options)
    host.attach(engine)
    with tempfile.TemporaryFile() as log:
        speech = _Speech(log)
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)
        try:
            engine.init()
            yield host, engine, speech
        finally:
            engine.finish()
            host.close()
            os.dup2(saved, 2)
            os.close(saved)
            speech.text = speech.now()


def cruby_latency(profile: CRubyProfile, cc: str, units: int, tmp: str) -> dict:
    """time_units' figures, plus ``outside``: the median of each unit's latency less CRuby's
    own timing of its compile, link and load (its "JIT success" line), i.e. what the protocol
    around the toolchain costs, which no load on the machine between units can skew."""
    options = Options(cc=cc, tmp_dir=tmp, min_calls=1, save_temps=True, verbose=1)
    tc = _toolchain(cc)
    pch = f"{tmp}/_ruby_mjit_hp{os.getpid()}u0.h.gch"
    with _engine_speaking(profile, options) as (host, engine, speech):
        result = time_units(host, engine, units, lambda: engine.stats()["compacted"],
                            lambda uid: raw_floor(tc, pch, uid, tmp))
    own = [float(ms) / 1e3 for ms in re.findall(r"JIT success \(([\d.]+)ms\)", speech.text)]
    if len(own) != units + 1:
        raise SystemExit(f"expected {units + 1} 'JIT success' lines, saw {len(own)}")
    result["outside"] = statistics.median(
        lat - t for lat, t in zip(result["latencies"], own[1:], strict=True))
    return result


def cruby_compaction(profile: CRubyProfile, cc: str, n: int, tmp: str) -> tuple[float, float]:
    """CRuby's compaction link of n units (its own timing) and a bare link of the same .o."""
    options = Options(cc=cc, tmp_dir=tmp, min_calls=1, save_temps=True, verbose=1,
                      max_cache_size=n + 10)
    with _engine_speaking(profile, options) as (host, engine, speech):
        iseqs = [_program(host, k + 1) for k in range(n)]
        engine.pause(wait=False)        # queue all first, so the queue drains once
        for iseq in iseqs:
            engine.add_iseq_to_process(iseq)
        engine.resume()
        # Every unit compiles before the one compaction: a second each is ample.
        _until(lambda: engine.stats()["compacted"] >= 1, "the compaction", host,
               seconds=60.0 + n)
    text = speech.text
    m = re.search(r"JIT compaction \(([\d.]+)ms\): Compacted (\d+) methods", text)
    if not m or int(m.group(2)) != n:
        raise SystemExit(f"no compaction of {n} methods seen:\n{text[-2000:]}")
    objects = sorted(str(p) for p in Path(tmp).glob(f"_ruby_mjit_p{os.getpid()}u*.o"))[:n]
    tc = _toolchain(cc)
    bare = _time(lambda: spawn(tc, tc.link_argv(objects, f"{tmp}/bare{n}.so")))
    return float(m.group(1)) / 1e3, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed-dir", default=str(SEED_DIR), help="CRuby checkout")
    parser.add_argument("--cc", default="gcc")
    parser.add_argument("--units", type=int, default=10, help="units timed for latency")
    parser.add_argument("--sizes", default="10,100,1000", help="compaction sizes")
    args = parser.parse_args()
    profile = CRubyProfile(args.seed_dir)
    profile.use_compiler(args.cc)
    with tempfile.TemporaryDirectory(prefix="mjit-bench-") as tmp:
        ref = bench_latency(args.cc, args.units, tmp)
    with tempfile.TemporaryDirectory(prefix="mjit-bench-") as tmp:
        cr = cruby_latency(profile, args.cc, args.units, tmp)
    print(f"{'engine':<8} {'latency ms':>11} {'floor ms':>9} {'ratio':>6} {'outside cc ms':>14}")
    for name, lat in (("cruby", cr), ("ref", ref)):
        outside = f"{lat['outside'] * 1e3:>14.1f}" if "outside" in lat else f"{'-':>14}"
        print(f"{name:<8} {lat['latency'] * 1e3:>11.1f} {lat['floor'] * 1e3:>9.1f}"
              f" {lat['ratio']:>6.3f} {outside}")
    print(f"{'units':>6} {'cruby link ms':>14} {'bare link ms':>13} {'ratio':>6}")
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="mjit-bench-") as tmp:
            link, bare = cruby_compaction(profile, args.cc, n, tmp)
        print(f"{n:>6} {link * 1e3:>14.1f} {bare * 1e3:>13.1f} {link / bare:>6.2f}")
    print(f"(median of {args.units} units after the header's build; latency ="
          " add_iseq_to_process -> published jit_func; floor = cc -c + cc -shared + dlopen of the"
          " same .c, right after; ratio = median of the per-unit ratios; cruby link = CRuby's own"
          " timing of its compaction link; outside cc = latency less CRuby's own timing of the"
          " unit's compile, link and load)")


if __name__ == "__main__":
    main()
