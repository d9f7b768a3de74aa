"""generate_code and copy_caches: the copy job, class serials, snapshots and cycles."""

from __future__ import annotations

import _ctypes
import ctypes
import io
import os
import subprocess
import threading

import pytest
from test_host_support import JIT_FUNC_TYPE, add_iseq, make_host

from pytest_mjit import MjitError
from pytest_mjit.testing import wait_event, wait_for
from pytest_mjit.host import CachedCall, CachedConst


@pytest.fixture
def vm():
    host, engine = make_host()
    with host:
        yield host, engine


def caller_of(host, callee, const="K"):
    host.set_const(const, 40)
    return host.define("caller", [("getconst", 0), ("push", 2), ("call", 0, 2), ("ret",)],
                       calls=[callee], consts=[const])


def generate(host, engine, iseq, name="_mjit1"):
    out = io.StringIO()
    return host.generate_code(out, iseq, name, None, engine), out.getvalue()


def test_no_caches_means_no_copy_job(vm):
    host, engine = vm
    ok, text = generate(host, engine, add_iseq(host))
    assert ok and "int64_t _mjit1(int64_t *args)" in text
    assert engine.calls == []


def test_the_copy_job_is_asked_once_with_buffers_of_the_right_size(vm):
    host, engine = vm
    caller = caller_of(host, add_iseq(host))
    seen = []
    real = engine.copy_cache_from_main_thread
    engine.copy_cache_from_main_thread = lambda i, cc, is_: (
        seen.append((i, list(cc), list(is_))) or real(i, cc, is_))
    ok, text = generate(host, engine, caller)
    assert ok
    assert seen == [(caller, [None], [None])]
    assert "static int64_t _mjit1_m" in text   # the callee is a static function of the unit


def test_a_failed_copy_fails_generation(vm):
    host, engine = vm
    engine.copy_result = False
    assert generate(host, engine, caller_of(host, add_iseq(host)))[0] is False
    assert host.events_of("generate_code:exit")[0].detail == "failed"


def test_an_invalid_class_serial_fails_generation(vm):
    host, engine = vm
    klass = host.new_class()
    callee = host.define("callee", [("arg", 0), ("arg", 1), ("sub",), ("ret",)], argc=2,
                         class_serial=klass)
    caller = caller_of(host, callee)
    assert generate(host, engine, caller)[0] is True
    host.free_class(klass)
    assert generate(host, engine, caller)[0] is False
    assert host.call(caller) == 38   # still callable through the interpreter


def test_buffers_filled_by_copy_caches(vm):
    host, engine = vm
    add = add_iseq(host)
    caller = caller_of(host, add)
    cc, is_ = [None], [None]
    host.copy_caches(caller, cc, is_)
    assert cc[0].callee_id == add.id and cc[0].class_serial == add.class_serial
    assert isinstance(cc[0], CachedCall) and is_ == [CachedConst("K", 40)]
    assert set(cc[0].snapshot.methods) == {caller.id, add.id}
    with pytest.raises(MjitError, match="cc_entries must be a list of 1 entries"):
        host.copy_caches(caller, [], [None])


def test_the_code_uses_the_caches_as_they_were_when_copied(vm):
    """COPYJOB-3: changes after the copy job ran do not reach the generated code."""
    host, engine = vm
    add = add_iseq(host)
    sub = host.define("sub", [("arg", 0), ("arg", 1), ("sub",), ("ret",)], argc=2)
    caller = caller_of(host, add)
    real = engine.copy_cache_from_main_thread

    def copy_then_change(iseq, cc, is_):
        ok = real(iseq, cc, is_)
        host.set_const("K", 7)
        host.set_call_target(caller, 0, sub)
        return ok

    engine.copy_cache_from_main_thread = copy_then_change
    ok, text = generate(host, engine, caller)
    assert ok and "0x0000000000000028ULL" in text and f"_m{add.id}(" in text
    assert f"_m{sub.id}" not in text
    assert host.call(caller) == 5   # the interpreter sees the new values


def test_generating_a_freed_iseq_is_a_violation(vm):
    host, engine = vm
    add = add_iseq(host)
    host.unroot(add)
    host.gc()
    assert generate(host, engine, add)[0] is False
    assert "after GC freed it" in host.violations[0].detail


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "x y", None])
def test_funcname_must_be_a_c_identifier(vm, name):
    host, engine = vm
    with pytest.raises(MjitError, match="funcname must be a C identifier"):
        host.generate_code(io.StringIO(), add_iseq(host), name, None, engine)


def test_the_copy_job_flow_across_threads_records_no_violation(vm):
    """The worker registers the copy as a postponed job and waits; the main thread runs it."""
    host, engine = vm
    caller = caller_of(host, add_iseq(host))
    copied = threading.Event()

    def copy(iseq, cc, is_):
        host.register_postponed_job(
            lambda _: (host.copy_caches(iseq, cc, is_), copied.set()), None)
        wait_event(copied, 30, "the main thread to run the copy job")
        return True

    engine.copy_cache_from_main_thread = copy
    result = []
    t = threading.Thread(target=lambda: result.append(generate(host, engine, caller)),
                         name="worker")
    t.start()
    wait_for(lambda: host.pending_postponed_jobs == 1, 30, "the copy job to be registered")
    host.check_ints()
    t.join(30)
    assert result[0][0] is True
    assert host.violations == []
    assert [e.thread for e in host.events_of("copy_caches")] == ["MainThread"]
    assert {e.thread for e in host.events_of("generate_code:enter")} == {"worker"}


def test_mutual_recursion_compiles_and_agrees_with_the_interpreter(vm, tmp_path):
    """A cycle of call caches becomes mutually recursive static functions."""
    host, engine = vm
    # even(n) = n == 0 ? 1 : odd(n - 1); odd(n) = n == 0 ? 0 : even(n - 1)
    stub = host.define("stub", [("push", 0), ("ret",)], argc=1)
    def parity(name, base):
        return host.define(name, [("arg", 0), ("push", 0), ("eq",), ("branchunless", 6),
                                  ("push", base), ("ret",), ("arg", 0), ("push", 1), ("sub",),
                                  ("call", 0, 1), ("ret",)], argc=1, calls=[stub])
    even, odd = parity("even", 1), parity("odd", 0)
    host.set_call_target(even, 0, odd)
    host.set_call_target(odd, 0, even)
    ok, text = generate(host, engine, even, "_mjit7")
    assert ok
    c_file = tmp_path / "unit.c"
    c_file.write_text(f'#include "{host.header_file}"\n' + text)
    so_file = str(tmp_path / "unit.so")
    subprocess.run(["gcc", "-O2", "-fPIC", "-shared", "-w", "-nostdlib", "-nostartfiles",
                    "-o", so_file, str(c_file), "-lgcc"], check=True)
    lib = ctypes.CDLL(so_file, mode=os.RTLD_NOW)
    try:
        fn = JIT_FUNC_TYPE(ctypes.cast(lib._mjit7, ctypes.c_void_p).value)
        for n in range(6):
            assert fn((ctypes.c_int64 * 1)(n)) == host.interpret(even, n) == (n + 1) % 2
    finally:
        _ctypes.dlclose(lib._handle)
