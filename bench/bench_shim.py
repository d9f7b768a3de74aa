"""Overhead of the compiler shim: the same compiler invocations run directly and through the
shim.  Run: ``python bench/bench_shim.py [--runs N]``."""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from pytest_mjit.testing import CompilerShim, build_shim


def timed(argv: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--cc", default=shutil.which("gcc") or shutil.which("clang"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shim = CompilerShim(build_shim(args.cc, work / "bin"), work / "ctl", args.cc, None)
        src = work / "unit.c"
        src.write_text("long f(long x) { return x * 3 + 1; }\n")
        cases = {"--version": ["--version"],
                 "tiny compile": ["-O2", "-c", str(src), "-o", str(work / "unit.o")]}
        for name, rest in cases.items():
            timed([args.cc, *rest], 3)
            raw = statistics.median(timed([args.cc, *rest], args.runs))
            via = statistics.median(timed([shim.path, *rest], args.runs))
            print(f"{name:>13}: raw {raw * 1e3:7.2f} ms  shim {via * 1e3:7.2f} ms  "
                  f"ratio {via / raw:5.2f}  overhead {(via - raw) * 1e3:+6.2f} ms")


if __name__ == "__main__":
    main()
