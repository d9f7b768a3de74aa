"""The leak guard sees past the engine's children and tmp dir: a re-parented grandchild, files
in the working directory or beside the tmp dir, a library mapped from elsewhere; and a run
clears session dirs that killed runs left behind."""

from __future__ import annotations

import re
import subprocess

from hostile import engine_source, run_isolated

pytest_plugins = ["pytester"]

LITTERING = engine_source('''
    def init(self):
        self._engine.init()
        kind = self.options.min_calls
        if kind == 3:       # a daemon: its parent exits at once, so it is nobody's child
            import subprocess
            subprocess.run(["sh", "-c", "sleep 300 > /dev/null 2>&1 &"], check=True)
        elif kind == 4:
            open("stray.txt", "w").close()
        elif kind == 5:
            import tempfile
            stray = os.path.join(tempfile.gettempdir(), f"_ruby_mjit_p{os.getpid()}u99.c")
            open(stray, "w").close()
        elif kind == 6:
            self.lib = ctypes.CDLL(os.path.abspath("outside.so"))
''')

TESTS = """
import pytest

@pytest.mark.parametrize("kind", [3, 4, 5, 6])
def test_litter(kind, mjit_start):
    mjit_start(min_calls=kind)
"""


def test_leak_guard_names_what_is_left_outside(pytester):
    pytester.makepyfile(hostile_engine=LITTERING, test_hostile=TESTS)
    (pytester.path / "outside.c").write_text("int outside(void) { return 1; }\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", "outside.so", "outside.c"],
                   cwd=pytester.path, check=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = pytester.path / "tmp" / f"pytest-mjit-{dead.pid}-stale"
    (stale / "inner").mkdir(parents=True)
    rc, out = run_isolated(pytester.path, "-n", "0", "--mjit-engine=hostile_engine:create",
                           "-rE")
    assert rc == 1, out
    daemon = re.search(r"child processes: (\d+) \[\w\] sleep 300", out)
    assert daemon, out
    assert not (pytester.path / "proc").exists()
    try:
        with open(f"/proc/{daemon.group(1)}/cmdline") as f:
            assert "sleep" not in f.read(), "the daemon survived the leak guard"
    except FileNotFoundError:
        pass
    assert f"files outside the tmp dir: {pytester.path / 'stray.txt'}" in out
    assert re.search(r"files outside the tmp dir: \S+/tmp/_ruby_mjit_p\d+u99\.c", out), out
    assert f"libraries mapped from outside the tmp dir: {pytester.path / 'outside.so'}" in out
    assert not stale.exists(), "the session dir of a dead run was not removed"
