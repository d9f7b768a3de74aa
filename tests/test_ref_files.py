"""Reference engine: file names, exclusive creation, failing compilers, tmp dir choice."""

from __future__ import annotations

import os
import signal
import stat
import time

import pytest

from mjit_ref._files import check_tmpdir, system_tmpdir

from test_ref_support import (WAIT, JitState, compiled, define_sum, engine_files, families,
                              ref_shim, settle, started, unit_files, wait_idle)

pytestmark = pytest.mark.parametrize("family", families())


def test_save_temps_keeps_named_files(tmp_path, family):
    """COMPILE-2, COMPILE-8, OPT-5, COMPILE-3 (mode 0600)."""
    with started(tmp_path, family, save_temps=True) as (host, engine):
        m = define_sum(host)
        engine.add_iseq_to_process(m)
        compiled(host, m)
        uid = m.body.jit_func.unit_id
        base = f"_ruby_mjit_p{os.getpid()}u{uid}"
        files = engine_files(tmp_path)
        for ext in (".c", ".o", ".so"):
            assert base + ext in files
        assert stat.S_IMODE(os.stat(tmp_path / (base + ".c")).st_mode) == 0o600
    assert f"_ruby_mjit_hp{os.getpid()}u0.h.gch" in engine_files(tmp_path)


def test_without_save_temps_only_o_files_stay(tmp_path, family):
    """COMPILE-8."""
    with started(tmp_path, family) as (host, engine):
        m = define_sum(host)
        engine.add_iseq_to_process(m)
        compiled(host, m)
        uid = m.body.jit_func.unit_id
        assert unit_files(tmp_path, uid) == [f"_ruby_mjit_p{os.getpid()}u{uid}.o"]


def test_symlink_at_the_c_name_is_never_followed(tmp_path, family):
    """COMPILE-3: the unit fails instead; the target is untouched."""
    with started(tmp_path, family) as (host, engine):
        first = define_sum(host, "first")
        engine.add_iseq_to_process(first)
        compiled(host, first)
        target = tmp_path / "target"
        next_id = engine.state.current_unit_num
        link = tmp_path / f"_ruby_mjit_p{os.getpid()}u{next_id}.c"
        link.symlink_to(target)
        m = define_sum(host, "m")
        engine.add_iseq_to_process(m)
        assert m.body.jit_unit.id == next_id
        settle(host, m)
        assert m.body.jit_func == JitState.NOT_COMPILED
        assert not target.exists() and link.is_symlink()
        link.unlink()


@pytest.mark.parametrize("fault", ["exit 1", "SIGKILL"])
def test_failing_compiler(tmp_path, family, fault):
    """COMPILE-4, FAULT-2, LOAD-3: exit status 1 or death by signal fails only that unit."""
    shim = ref_shim(tmp_path, family)
    if fault == "SIGKILL":
        shim.crash(match="u1.c", signal=signal.SIGKILL)
    else:
        shim.fail(match="u1.c")
    with started(tmp_path, family, shim=shim) as (host, engine):
        ok = define_sum(host, "ok")
        engine.add_iseq_to_process(ok)          # unit 0
        compiled(host, ok)
        bad = define_sum(host, "bad")
        host.call(bad, 2)
        host.call(bad, 2)                       # unit 1: enqueued by the call path
        assert bad.body.jit_unit.id == 1
        settle(host, bad)
        assert bad.body.jit_func == JitState.NOT_COMPILED
        assert unit_files(tmp_path, 1) == []
        for _ in range(3):
            assert host.call(bad, 3) == 3
        assert len([e for e in host.events_of("enqueue") if e.iseq == bad.id]) == 1
        later = define_sum(host, "later")
        engine.add_iseq_to_process(later)
        compiled(host, later)


def test_missing_compiler_disables_the_engine(tmp_path, family):
    """PCH-3, FAULT-4, WAIT-3: a failed PCH keeps everything interpreted and wait prompt."""
    options = dict(cc=str(tmp_path / "no-such-cc"), cc_family=None)
    with started(tmp_path, family, wait=True, **options) as (host, engine):
        m = define_sum(host)
        engine.add_iseq_to_process(m)
        start = time.monotonic()
        engine.wait(m)
        assert time.monotonic() - start < WAIT / 2
        # A PCH that failed before the enqueue makes add_iseq_to_process a no-op (as in
        # mjit.c), so NOT_ADDED is as right as NOT_READY or NOT_COMPILED: never a function.
        assert m.body.jit_func in (JitState.NOT_ADDED, JitState.NOT_READY, JitState.NOT_COMPILED)
        assert engine.enabled is False
        assert host.call(m, 3) == 3
        assert not host.events_of("generate_code:enter")
    assert engine_files(tmp_path) == []


def test_unusable_tmp_dir_fails_cleanly(tmp_path, family):
    """FAULT-3: a tmp dir that does not exist disables the engine; nothing escapes."""
    missing = tmp_path / "gone"
    with started(tmp_path, family, tmp_dir=str(missing)) as (host, engine):
        m = define_sum(host)
        host.call(m, 1)
        host.call(m, 1)
        engine.wait(m)
        assert host.call(m, 4) == 6
        assert not host.violations


def test_tmp_dir_with_quote_and_backslash(tmp_path, family):
    """PCH-7."""
    odd = tmp_path / 'we"ird\\dir'
    odd.mkdir()
    with started(tmp_path, family, tmp_dir=str(odd)) as (host, engine):
        m = define_sum(host)
        engine.add_iseq_to_process(m)
        compiled(host, m)
        assert host.call(m, 5) == 10


def test_system_tmpdir_choice(tmp_path, family, monkeypatch):
    """OPT-2: TMPDIR, else TMP, else the default; non-dirs and unsafe dirs are skipped."""
    a_file = tmp_path / "file"
    a_file.write_text("")
    unsafe = tmp_path / "unsafe"
    unsafe.mkdir()
    unsafe.chmod(0o777)
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    good = tmp_path / "good"
    good.mkdir()
    assert not check_tmpdir(str(a_file)) and not check_tmpdir(str(unsafe))
    assert check_tmpdir(str(sticky))
    monkeypatch.setenv("TMPDIR", str(good))
    assert system_tmpdir() == str(good)
    monkeypatch.setenv("TMPDIR", str(a_file))
    monkeypatch.setenv("TMP", str(sticky))
    assert system_tmpdir() == str(sticky)
    monkeypatch.setenv("TMP", str(unsafe))
    assert system_tmpdir() == "/tmp"


def test_verbose_levels(tmp_path, family, capfd):
    """OPT-4: verbose 1 prints success lines and the compaction line; 0 prints nothing."""
    with started(tmp_path, family, verbose=1) as (host, engine):
        ms = [define_sum(host, f"v{i}") for i in range(2)]
        for m in ms:
            engine.add_iseq_to_process(m)
        for m in ms:
            compiled(host, m)
        wait_idle(host, engine)
        from pytest_mjit.testing import wait_for
        wait_for(lambda: engine.state.compact_units.length >= 1, WAIT, "a compaction")
    err = capfd.readouterr().err
    assert "JIT success" in err and "JIT compaction" in err and "Successful MJIT finish" in err
    with started(tmp_path, family) as (host, engine):
        m = define_sum(host)
        engine.add_iseq_to_process(m)
        compiled(host, m)
    assert capfd.readouterr().err == ""
