"""The rig is the one place engines are started from and leftovers are found: the fixtures, the
protocol machines and the reference engine's tests build through it, and its diff of two
snapshots catches each kind of leftover planted after its first snapshot."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from pytest_mjit.testing import Rig, wait_for

ROOT = Path(__file__).resolve().parents[1]
#: Where engines are started for a test, an example or a reference engine test.
STARTERS = ("pytest_mjit/_fixtures.py", "pytest_mjit/machines/_rig.py",
            "tests/test_ref_support.py")
#: What leftovers are computed from.  Outside the observers' own modules and the rig, only the
#: run's end check (processes that outlive the whole run, not one test) may call them.
OBSERVERS = re.compile(r"\b(?:python_threads|child_processes|mapped_libraries|marked_processes)"
                       r"\(|\.diff\(")
OWNERS = {"pytest_mjit/_observe.py", "pytest_mjit/_strays.py", "pytest_mjit/_rig.py",
          "pytest_mjit/_run_end.py", "pytest_mjit/testing.py"}
CC = shutil.which("gcc") or shutil.which("clang")
MARKER_ENV = "PYTEST_MJIT_TEST"


def test_every_starter_builds_through_the_rig_and_nothing_else_finds_leftovers():
    for path in STARTERS:
        assert re.search(r"\bRig\(", (ROOT / path).read_text()), f"{path} does not build a Rig"
    sources = list((ROOT / "pytest_mjit").rglob("*.py"))
    sources.append(ROOT / "tests/test_ref_support.py")
    offenders = {str(p.relative_to(ROOT)): sorted({m.group(0) for m in
                                                   OBSERVERS.finditer(p.read_text())})
                 for p in sources if str(p.relative_to(ROOT)) not in OWNERS}
    assert {f: found for f, found in offenders.items() if found} == {}


def test_a_rig_with_nothing_planted_finds_nothing(tmp_path):
    rig = Rig(tmp_path / "jit")
    (tmp_path / "jit").mkdir()
    left = rig.leftovers(0.0)
    assert not left and left.lines() == []
    rig.close()


@pytest.mark.skipif(CC is None, reason="no C compiler")
def test_the_diff_catches_a_thread_a_child_a_file_and_a_mapping(tmp_path):
    tmp_dir = tmp_path / "jit"
    tmp_dir.mkdir()
    (tmp_dir / "old.o").write_text("")       # there before the first snapshot: not counted
    marker = "rig-test:1"
    rig = Rig(tmp_dir, marker=marker)
    library = _library(tmp_path / "lib.c", tmp_dir / "planted.so")
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, args=(60,), name="planted-thread", daemon=True)
    thread.start()
    child = subprocess.Popen(["sleep", "60"])
    # a grandchild re-parented away from this process, found by the marker it inherited
    subprocess.run(["sh", "-c", "sleep 61 & echo $! > grandchild"], cwd=tmp_path, check=True,
                   env=dict(os.environ, **{MARKER_ENV: marker}), timeout=30)
    grandchild = int((tmp_path / "grandchild").read_text())
    (tmp_dir / "planted.o").write_text("")
    handle = ctypes.CDLL(str(library))
    left = None
    try:
        left = rig.leftovers(0.1)
        assert left.threads == {thread.ident: "planted-thread"}
        assert sorted(c.pid for c in left.children) == sorted([child.pid, grandchild])
        assert left.files == ("planted.o", "planted.so")
        assert [m.path for m in left.maps] == [str(library)]
        kinds = [kind for kind, _line in left.items()]
        assert kinds == ["threads", "children", "files", "maps"]
        assert left.lines({"threads", "children", "files"}) == [
            f"mapped libraries: {library}"]
    finally:
        stop.set()
        thread.join(10)
        import _ctypes
        _ctypes.dlclose(handle._handle)
        rig.close(reap=left.children if left is not None else ())
    child.wait(10)
    wait_for(lambda: not os.path.exists(f"/proc/{grandchild}"), 10, "the grandchild to go")
    assert not rig.leftovers(0.0).threads and not rig.leftovers(0.0).children


def _library(source: Path, out: Path) -> Path:
    source.write_text("int planted(void) { return 1; }\n")
    subprocess.run([CC, "-shared", "-fPIC", "-o", str(out), str(source)], check=True, timeout=60)
    return out
