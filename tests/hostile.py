"""Hostile engines for the certificate's own tests: each wraps the reference engine and changes
one thing (crashes, exits, hangs, lies about itself), and a helper that runs pytest on them in
a separate process, bounded, with its own TMPDIR, leaving no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from pytest_mjit.testing import DeadlineExceeded, wait_for

ROOT = Path(__file__).resolve().parents[1]
#: Seconds one hostile run may take before the test gives up on it (it never should).
RUN_LIMIT = 240.0
#: Seconds the run's processes get to end after pytest has exited.
LEFTOVER_WAIT = 10.0

#: The reference engine with one method replaced; ``{body}`` is the new method's source.
WRAPPER = '''
import ctypes, os, signal, threading, time
import mjit_ref

class Hostile:
    name = "hostile"
    version = "1"

    def __init__(self, host, options):
        self._engine = mjit_ref.create_engine(host, options)
        self.options = options

    def __getattr__(self, attr):
        return getattr(self._engine, attr)

{body}

def create(host, options):
    return Hostile(host, options)
'''

#: Short deadlines for the hostile runs: 5 s per phase (enough for a loaded machine to start
#: an engine), 2 s of watchdog grace.
FAST_DEADLINES = """
import dataclasses
from pytest_mjit import _presets, _watchdog
_presets.PRESETS["quick"] = dataclasses.replace(_presets.PRESETS["quick"], test_timeout=5.0)
_watchdog.GRACE = 2.0
"""


def engine_source(body: str) -> str:
    """An engine module whose ``create`` returns the reference engine with ``body`` (methods
    of the wrapper class, indented by four spaces) in place of the originals."""
    return WRAPPER.replace("{body}", body)


def run_isolated(path: Path, *args: str, env: dict[str, str] | None = None,
                 limit: float = RUN_LIMIT) -> tuple[int, str]:
    """``python -m pytest ARGS`` in ``path`` with TMPDIR=path/tmp, in a new process group that
    is killed afterwards, and after ``limit`` seconds if still running; (return code,
    output)."""
    tmp = path / "tmp"
    tmp.mkdir(exist_ok=True)
    full_env = dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=os.pathsep.join([str(path), str(ROOT)]),
                    **(env or {}))
    full_env.pop("PYTEST_XDIST_WORKER", None)
    full_env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                             "-p", "no:randomly", "--mjit-preset=quick", *args],
                            cwd=path, env=full_env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise AssertionError(f"the hostile run hung for {limit:.0f}s:\n{out}") from None
    try:
        wait_for(lambda: not group_members(proc.pid), LEFTOVER_WAIT, "the run's processes to end")
    except DeadlineExceeded:
        raise AssertionError(f"the hostile run left processes behind: {group_members(proc.pid)}"
                             f"\n{out}") from None
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return proc.returncode, out


def group_members(pgid: int) -> list[str]:
    """Living processes of process group ``pgid``: "pid command"."""
    found = []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    command = f.read().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{name} {command[:80]}")
        except (OSError, ValueError, IndexError):
            continue
    return found


def read_report(path: Path) -> dict:
    return json.loads(path.read_text())


def statuses(report: dict) -> dict[str, str]:
    return {cid: c["status"] for cid, c in report["clauses"].items()}


#: Engines that break the way a user's engine may: each stops or kills the process its own way.
#: ``finish`` never returns.
FINISH_HANGS = engine_source('''
    def finish(self, close_handle=True):
        threading.Event().wait()
''')

#: The worker never reads the stop flag: pause and finish wait for it for ever.
WORKER_NEVER_STOPS = engine_source('''
    def init(self):
        from mjit_ref import _lifecycle, _worker
        from mjit_ref._pch import PchStatus, make_pch
        from mjit_ref._queue import get_from_list

        def stubborn(engine):
            if engine.state.pch_status is PchStatus.NOT_READY:
                make_pch(engine)
            while True:
                with engine.state.lock:
                    while engine.state.unit_queue.length == 0:
                        engine.state.worker_wakeup.wait()
                    unit = get_from_list(engine, engine.state.unit_queue)
                if unit is not None:
                    _worker._process(engine, unit)

        _lifecycle.worker_main = stubborn
        self._engine.init()
''')

#: The worker ends the process when it takes a unit, after a word on stderr.
WORKER_EXITS = engine_source('''
    def init(self):
        from mjit_ref import _worker

        def exit_now(engine, unit):
            print(f"hostile worker: giving up on u{unit.id}", file=sys.stderr, flush=True)
            os._exit(7)

        _worker.convert_unit_to_func = exit_now
        self._engine.init()
''').replace("import ctypes, os,", "import ctypes, os, sys,")

#: Published code writes to address 0 when called (the host's code is compiled under
#: another name).
CODE_SEGFAULTS = engine_source('''
    def init(self):
        from mjit_ref import _convert
        generate = _convert._generate

        def crashing(engine, unit, out, funcname):
            ok, where = generate(engine, unit, out, funcname + "_host")
            out.write("int64_t %s(int64_t *args) { *(volatile int64_t *)0 = args[0]; "
                      "return 0; }\\n" % funcname)
            return ok, where

        _convert._generate = crashing
        self._engine.init()
''')
