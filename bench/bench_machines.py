"""Throughput of the protocol machine against the reference engine, with real compiles.

Run: ``python bench/bench_machines.py [--preset default] [--cc gcc|clang] [--runs 4]``

* in process: protocol steps per second and examples per second for the controlled schedule
  and for the free-running mode (each figure also counts the unit compiles it made, the share
  of the run the real compiler took, and the steps per second of the rest: the harness's,
  the host's and the engine's own time);
* under pytest: ``--runs`` machine runs (one seed each) as a parametrized test, wall time with
  ``-n 0`` and with ``-n 2`` (pytest-xdist), and the steps and examples they made per second;
* the primitives of ``pytest_mjit.sync`` outside a controlled run against ``threading``'s
  (lock round trips, condition notify, thread start and join) as a ratio, and the cost of one
  scheduling point inside a controlled run.  ``--primitives`` runs only this part.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_mjit.machines import RigConfig, run_machine  # noqa: E402
from pytest_mjit import sync  # noqa: E402
import threading  # noqa: E402

import mjit_ref  # noqa: E402

#: The parametrized test the xdist comparison runs; each run appends its counts to OUT.
_XDIST_TEST = '''
import json, os, pytest
from pytest_mjit.machines import run_machine

@pytest.mark.parametrize("seed", range(int(os.environ["BENCH_RUNS"])))
def test_machine(mjit_machine_config, seed):
    run = run_machine(mjit_machine_config, seed=seed)
    assert not run.failed, run.describe()
    with open(os.environ["BENCH_OUT"], "a") as f:
        f.write(json.dumps([run.examples, run.steps]) + "\\n")
'''


def in_process(preset: str, cc: str, controlled: bool) -> dict:
    with tempfile.TemporaryDirectory() as d:
        config = RigConfig.standalone(mjit_ref.create_engine, cc, d, preset)
        run = run_machine(config, controlled=controlled, seed=1)
    if run.failed:
        raise SystemExit(run.describe())
    return dict(examples=run.examples, steps=run.steps, compiles=run.compiles,
                seconds=run.seconds, uncontrolled=run.uncontrolled,
                compiler_seconds=run.compiler_seconds)


def under_pytest(preset: str, cc: str, runs: int, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as d:
        test = Path(d) / "test_bench_machine.py"
        test.write_text(textwrap.dedent(_XDIST_TEST))
        out = Path(d) / "out.jsonl"
        env = dict(os.environ, BENCH_RUNS=str(runs), BENCH_OUT=str(out))
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test),
               f"--mjit-preset={preset}", f"--mjit-cc={cc}", "--mjit-seed=1",
               "-n", str(workers)]
        start = time.monotonic()
        proc = subprocess.run(cmd, cwd=d, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - start
        if proc.returncode != 0:
            raise SystemExit(proc.stdout[-4000:] + proc.stderr[-2000:])
        counts = [json.loads(line) for line in out.read_text().splitlines()]
    return dict(examples=sum(c[0] for c in counts), steps=sum(c[1] for c in counts),
                seconds=seconds)


def _timed(fn, repeat: int = 5) -> float:
    """Best of ``repeat`` wall times of ``fn()``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _locks(mod, n: int) -> None:
    """``n`` lock round trips, each with a condition notify, through ``mod``."""
    lock = mod.Lock()
    cond = mod.Condition(lock)
    for _ in range(n):
        with lock:
            cond.notify_all()


def _threads(mod, n: int) -> None:
    """``n`` thread starts and joins through ``mod``."""
    for _ in range(n):
        t = mod.Thread(target=lambda: None)
        t.start()
        t.join()


def primitives(n: int = 200_000) -> None:
    """Overhead of sync outside a run (ratio to threading, alternated runs, best of 7 each),
    and the cost of a scheduling point inside one."""
    for what, work, count in (("locks", _locks, n), ("threads", _threads, n // 500)):
        base = ours = float("inf")
        for _ in range(7):      # alternated: the machine's load hits both alike
            base = min(base, _timed(lambda w=work, c=count: w(threading, c), 1))
            ours = min(ours, _timed(lambda w=work, c=count: w(sync, c), 1))
        print(f"{'sync ' + what + ' outside a run':<28} {ours / base:8.3f} x threading's time "
              f"({count} {'lock+notify round trips' if what == 'locks' else 'start/join'}; "
              f"{base * 1e3:.1f} ms vs {ours * 1e3:.1f} ms)")
    m = n // 20

    def controlled() -> None:
        with sync.controlled_run(sync.Scheduler(sync.RandomWalk(0, 0))):
            _locks(sync, m)

    inside = _timed(controlled, 3)
    print(f"{'sync inside a run':<28} {inside / m * 1e6:8.2f} us per lock round trip "
          f"(two scheduling points)")


def _line(name: str, r: dict) -> str:
    extra = f", {r['compiles']} unit compiles" if "compiles" in r else ""
    line = (f"{name:<28} {r['steps'] / r['seconds']:8.1f} steps/s "
            f"{r['examples'] / r['seconds']:7.2f} examples/s   "
            f"({r['steps']} steps, {r['examples']} examples{extra}, "
            f"{r['seconds']:.1f}s)")
    if "compiler_seconds" in r:
        # The real compiler's own time (holds and faults left out) against the run's.
        rest = r["seconds"] - r["compiler_seconds"]
        line += (f"\n{'':<28} {r['compiler_seconds'] / r['seconds']:8.0%} of it in the real "
                 f"compiler; {r['steps'] / rest:.1f} steps/s of the rest")
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default", choices=["quick", "default", "thorough"])
    parser.add_argument("--cc", default="gcc")
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--primitives", action="store_true",
                        help="only the overhead of pytest_mjit.sync")
    args = parser.parse_args()
    primitives()
    if args.primitives:
        return
    print(f"protocol machine throughput, preset {args.preset}, cc {args.cc}")
    print(_line("controlled, in process", in_process(args.preset, args.cc, True)))
    print(_line("free-running, in process", in_process(args.preset, args.cc, False)))
    for workers in (0, 2):
        print(_line(f"pytest -n {workers}, {args.runs} runs",
                    under_pytest(args.preset, args.cc, args.runs, workers)))


if __name__ == "__main__":
    main()
