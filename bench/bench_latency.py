"""Latency of the reference engine against the raw toolchain, and compaction time.

Run: ``python bench/bench_latency.py [--cc gcc|clang] [--units N]``

* per-unit latency: from ``add_iseq_to_process`` to the published ``jit_func``, against the
  floor of the same C compiled by hand in the same run (``cc -c``, ``cc -shared``, dlopen);
* compaction: the engine's compaction (one link of N ``.o`` files, dlopen, rebinding) for
  10, 100 and 1000 units made beforehand.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pytest_mjit import JitState, Options, is_compiled
from pytest_mjit.host import Host, Insn

import mjit_ref
from mjit_ref import _dl
from mjit_ref._compaction import compact_all_jit_code
from mjit_ref._units import Unit
from mjit_ref._unload import free_list

DEADLINE = 60.0
#: Seconds between two looks at the engine, each also running the host's interrupt check (and
#: so the postponed jobs): a host's main thread at that cadence.  Polling five times as often
#: slows the engine's compiles by about 5% on 2 cores (the main thread takes CPU and the GIL
#: from the worker), which the floor, timed on its own, never pays.
POLL = 0.001


def _until(predicate, what: str, host=None, seconds: float = DEADLINE) -> None:
    end = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > end:
            raise SystemExit(f"benchmark stuck waiting for {what}")
        if host is not None:
            host.check_ints()
        time.sleep(POLL)


def _program(host: Host, i: int):
    """A small loop: sum of k * i for k < n."""
    code = [
        Insn("push", 0), Insn("store", 0),           # acc = 0
        Insn("push", 0), Insn("store", 1),           # k = 0
        Insn("load", 1), Insn("arg", 0), Insn("lt"),  # 4: k < n ?
        Insn("branchunless", 19),
        Insn("load", 0), Insn("load", 1), Insn("push", i), Insn("mul"), Insn("add"),
        Insn("store", 0),
        Insn("load", 1), Insn("push", 1), Insn("add"), Insn("store", 1),
        Insn("jump", 4),
        Insn("load", 0), Insn("ret"),                # 19
    ]
    return host.define(f"bench{i}", code, argc=1, nlocals=2)


def time_units(host, engine, units: int, compacted, floor) -> dict:
    """Per-unit latency (enqueue to published jit_func) of ``units`` methods on an initialised
    ``engine``, each paired with ``floor(unit_id)`` run right after it, so that both see the
    same machine load.  A first, untimed method waits out the precompiled header's build,
    which is paid once per process and is not part of a unit's latency.  ``compacted()``
    counts the engine's compactions (each publish is followed by one, let it end first).
    Gives the median latency, the median floor and the median of the per-unit ratios."""
    latencies, floors = [], []
    for i in range(units + 1):
        iseq = _program(host, i + 1)
        start = time.perf_counter()
        engine.add_iseq_to_process(iseq)
        _until(lambda it=iseq: it.body.jit_func != JitState.NOT_READY, "a publish", host)
        elapsed = time.perf_counter() - start
        if not is_compiled(iseq.body.jit_func):
            raise SystemExit(f"unit {i} failed to compile")
        _until(lambda n=i: compacted() >= n, "a compaction", host)
        if i == 0:
            continue                    # the header's build, not a unit's latency
        latencies.append(elapsed)
        floors.append(floor(iseq.body.jit_func.unit_id))
    return {"latencies": latencies, "floors": floors,
            "latency": statistics.median(latencies), "floor": statistics.median(floors),
            "ratio": statistics.median(a / b for a, b in zip(latencies, floors, strict=True))}


def bench_latency(cc: str, units: int, tmp: str) -> dict:
    options = Options(cc=cc, tmp_dir=tmp, min_calls=1, save_temps=True)
    host = Host(options)
    engine = mjit_ref.create_engine(host, options)
    host.attach(engine)
    engine.init()
    try:
        return time_units(host, engine, units, lambda: engine.stats()["compact_units"],
                          lambda uid: raw_floor(engine.toolchain, engine.pch_file, uid, tmp))
    finally:
        engine.finish()
        host.close()


def spawn(tc, argv) -> int:
    """Runs toolchain ``tc``'s compiler with ``argv`` the cheapest way a process can start one
    (``posix_spawn``, a vfork on glibc, as CRuby's own exec_process does), output discarded:
    its exit status.  The floors use it so that they hold no process-start overhead of the
    engine's own."""
    devnull = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_WRONLY, 0) for fd in (1, 2)]
    pid = os.posix_spawn(tc.cc_path, list(argv), os.environ, file_actions=devnull)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def raw_floor(tc, pch_file: str, unit_id: int, tmp: str) -> float:
    """Unit ``unit_id``'s .c through toolchain ``tc``'s compile and link argv, then dlopen."""
    c_file = f"{tmp}/_ruby_mjit_p{os.getpid()}u{unit_id}.c"
    o_file, so_file = f"{tmp}/raw{unit_id}.o", f"{tmp}/raw{unit_id}.so"
    start = time.perf_counter()
    ok = (spawn(tc, tc.compile_argv(c_file, o_file, pch_file)) == 0
          and spawn(tc, tc.link_argv([o_file], so_file)) == 0)
    handle = _dl.dlopen(so_file) if ok else None
    ok = ok and handle is not None and _dl.dlsym(handle, f"_mjit{unit_id}") is not None
    elapsed = time.perf_counter() - start
    if handle is not None:
        _dl.dlclose(handle)
    if not ok:
        raise SystemExit(f"raw toolchain failed on {c_file}")
    return elapsed


def _premade_units(engine, n: int, tmp: str) -> None:
    """N active units with a .o each, compiled in batches of 100 files per compiler run."""
    workdir = Path(tmp) / f"objs{n}"
    workdir.mkdir()
    tc = engine.toolchain
    names = []
    for uid in range(n):
        src = workdir / f"u{uid}.c"
        src.write_text(f"long long _mjit{uid}(long long *a) {{ return a[0] + {uid}; }}\n")
        names.append(src.name)
    for k in range(0, n, 100):
        argv = [*tc.common_args, *tc.codeflag_args, "-c", *names[k:k + 100], *tc.linker_args]
        # Compiled in the work dir so that each .o lands beside its .c.
        cwd = os.getcwd()
        os.chdir(workdir)
        try:
            if tc.exec_process(argv) != 0:
                raise SystemExit("could not make the .o files")
        finally:
            os.chdir(cwd)
    with engine.state.lock:
        for uid in range(n):
            body = types.SimpleNamespace(jit_func=JitState.NOT_COMPILED)
            unit = Unit(id=uid, iseq=types.SimpleNamespace(body=body),
                        o_file=str(workdir / f"u{uid}.o"))
            engine.state.active_units.add(unit)
        engine.state.current_unit_num = n


def bench_compaction(cc: str, sizes, tmp: str) -> dict:
    results = {}
    for n in sizes:
        options = Options(cc=cc, tmp_dir=tmp, min_calls=1)
        engine = mjit_ref.create_engine(types.SimpleNamespace(), options)
        _premade_units(engine, n, tmp)
        start = time.perf_counter()
        ok = compact_all_jit_code(engine)
        elapsed = time.perf_counter() - start
        active = engine.state.active_units
        if not ok or not all(is_compiled(u.iseq.body.jit_func) for u in active):
            raise SystemExit(f"compaction of {n} units failed")
        for units in (engine.state.active_units, engine.state.compact_units):
            free_list(engine, units, close_handle=True)
        results[n] = elapsed
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cc", action="append", choices=["gcc", "clang"],
                        help="compiler family (repeatable; default both)")
    parser.add_argument("--units", type=int, default=10, help="units timed for latency")
    args = parser.parse_args()
    ccs = args.cc or ["gcc", "clang"]

    print(f"{'cc':<6} {'latency ms':>11} {'floor ms':>9} {'ratio':>6}"
          f" {'compact 10':>11} {'compact 100':>12} {'compact 1000':>13}")
    for cc in ccs:
        with tempfile.TemporaryDirectory(prefix="mjit-bench-") as tmp:
            lat = bench_latency(cc, args.units, tmp)
            comp = bench_compaction(cc, (10, 100, 1000), tmp)
        print(f"{cc:<6} {lat['latency'] * 1e3:>11.1f} {lat['floor'] * 1e3:>9.1f}"
              f" {lat['ratio']:>6.2f}"
              f" {comp[10] * 1e3:>9.1f}ms {comp[100] * 1e3:>10.1f}ms {comp[1000] * 1e3:>11.1f}ms")
    print(f"(median of {args.units} units; latency = add_iseq_to_process -> published jit_func;"
          " floor = cc -c + cc -shared + dlopen of the same .c, right after; ratio = median of"
          " the per-unit ratios)")


if __name__ == "__main__":
    main()
