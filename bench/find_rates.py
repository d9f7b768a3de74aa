"""How reliably the protocol machine's search finds each planted protocol bug (the ``sm_*``
mutants of ``tests/mutants``): one search per seed, each in a fresh process, without
shrinking (finding is what is measured; shrinking a found failure costs minutes).

Run: ``python bench/find_rates.py [--runs 20] [--first-seed 1] [--preset default]
[--mutants sm_a,sm_b] [-j 2]``

Prints, per mutant, how many of the seeds found it and the median seconds of a search; the
goal is every mutant found by at least 19 of 20 seeds.

``--replays N``: instead, per mutant, one search with shrinking (the first seed), then its
``--mjit-replay`` line replayed N times; prints how many replays failed with the same first
line and the same steps (the goal: N of N)."""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib
import re
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def mutants() -> list[str]:
    return sorted(p.stem for p in (ROOT / "tests" / "mutants").glob("sm_*.py"))


def search(mutant: str, seed: int, preset: str, cc: str) -> tuple[str, int, bool, float, str]:
    """One search of ``mutant`` with ``seed``: (mutant, seed, found, seconds, first line)."""
    from pytest_mjit.machines import RigConfig, run_machine
    factory = importlib.import_module(f"tests.mutants.{mutant}").create_engine
    with tempfile.TemporaryDirectory() as d:
        run = run_machine(RigConfig.standalone(factory, cc, d, preset), seed=seed, shrink=False)
    first = str(run.error).splitlines()[0][:160] if run.failed else ""
    return mutant, seed, run.failed, run.seconds, first


def _first_line(run) -> str:
    """The failure's first line, without the per-example directory names."""
    return re.sub(r"/\S*/machine-\w+", "<example dir>", str(run.error).splitlines()[0])


def replays(mutant: str, seed: int, n: int, preset: str, cc: str) -> tuple[str, int, int, str]:
    """Shrink ``mutant``'s failure found with ``seed`` and replay it ``n`` times:
    (mutant, shrunk steps, replays that reproduced it, first line)."""
    from pytest_mjit.machines import RigConfig, run_machine
    factory = importlib.import_module(f"tests.mutants.{mutant}").create_engine
    with tempfile.TemporaryDirectory() as d:
        config = RigConfig.standalone(factory, cc, d, preset)
        first = run_machine(config, seed=seed)
        if not first.failed or not first.replay:
            return mutant, 0, 0, "not found"
        same = 0
        for _ in range(n):
            again = run_machine(config, replay=first.replay)
            same += (again.failed and again.failing_steps == first.failing_steps
                     and _first_line(again) == _first_line(first))
    return mutant, len(first.failing_steps), same, _first_line(first)[:120]


def main_replays(names: list[str], args: argparse.Namespace) -> None:
    with concurrent.futures.ProcessPoolExecutor(args.jobs, max_tasks_per_child=1) as pool:
        futures = [pool.submit(replays, m, args.first_seed, args.replays, args.preset, args.cc)
                   for m in names]
        print(f"{'mutant':45} steps  reproduced  ({args.preset} preset, seed "
              f"{args.first_seed}, {args.replays} replays)")
        for future in concurrent.futures.as_completed(futures):
            mutant, steps, same, first = future.result()
            print(f"{mutant:45} {steps:5}  {same:3}/{args.replays:<3}  {first}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--cc", default="gcc")
    parser.add_argument("--mutants", help="comma-separated (default: every sm_* mutant)")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("-v", "--verbose", action="store_true", help="print every search")
    parser.add_argument("--replays", type=int, default=0,
                        help="replay each mutant's shrunk failure this many times instead")
    args = parser.parse_args()
    names = args.mutants.split(",") if args.mutants else mutants()
    if args.replays:
        main_replays(names, args)
        return
    seeds = range(args.first_seed, args.first_seed + args.runs)
    results: dict[str, list[tuple[bool, float]]] = {m: [] for m in names}
    with concurrent.futures.ProcessPoolExecutor(args.jobs, max_tasks_per_child=1) as pool:
        futures = [pool.submit(search, m, s, args.preset, args.cc) for m in names for s in seeds]
        for future in concurrent.futures.as_completed(futures):
            mutant, seed, found, seconds, first = future.result()
            results[mutant].append((found, seconds))
            if args.verbose:
                print(f"  {mutant} seed {seed}: {'found' if found else 'MISSED'} in "
                      f"{seconds:.0f}s {first}", flush=True)
    print(f"\n{'mutant':45} found  median s  ({args.preset} preset, seeds {seeds.start}.."
          f"{seeds.stop - 1}, no shrinking)")
    for m in names:
        hits = sum(1 for f, _ in results[m] if f)
        median = statistics.median(s for _, s in results[m])
        print(f"{m:45} {hits:2}/{len(results[m]):<2} {median:8.1f}")


if __name__ == "__main__":
    main()
