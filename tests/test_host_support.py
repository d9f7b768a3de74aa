"""Helpers shared by the host tests: a stand-in engine that records what the host asks of it
(it compiles nothing), and compiled-looking functions made from ctypes callbacks."""

from __future__ import annotations

import ctypes
import threading

from pytest_mjit import JitFunc, JitState, Options
from pytest_mjit.host import Host, Insn

JIT_FUNC_TYPE = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.POINTER(ctypes.c_int64))


class RecordingEngine:
    """Answers every client call and records it as ``(name, args...)`` with the thread."""

    capabilities = frozenset()
    name = "recording"
    version = "0"

    def __init__(self, host: Host) -> None:
        self.host = host
        self.enabled = True
        self.call_p = True
        self.calls: list[tuple] = []
        self.threads: list[str] = []
        self.serials: set[int] = set()
        self.keep_alive: list = []
        self.freed_flags: list[bool] = []
        self.on_add = None
        self.on_wait = None
        self.copy_result = True

    def _record(self, *call) -> None:
        self.calls.append(call)
        self.threads.append(threading.current_thread().name)

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]

    def init(self) -> None:
        self._record("init")

    def add_iseq_to_process(self, iseq, compile_info=None) -> None:
        self._record("add_iseq_to_process", iseq)
        iseq.body.jit_func = JitState.NOT_READY
        if self.on_add is not None:
            self.on_add(iseq)

    def wait(self, iseq):
        self._record("wait", iseq)
        if self.on_wait is not None:
            self.on_wait(iseq)
        return iseq.body.jit_func

    def recompile(self, iseq) -> None:
        self._record("recompile", iseq)

    def gc_start_hook(self) -> None:
        self._record("gc_start_hook")

    def gc_exit_hook(self) -> None:
        self._record("gc_exit_hook")

    def free_iseq(self, iseq) -> None:
        self._record("free_iseq", iseq)
        self.freed_flags.append(iseq.freed)

    def mark(self):
        self._record("mark")
        return list(self.keep_alive)

    def pause(self, wait: bool = True) -> bool:
        self._record("pause", wait)
        return True

    def resume(self) -> bool:
        self._record("resume")
        return True

    def finish(self, close_handle: bool = True) -> None:
        self._record("finish", close_handle)
        self.enabled = False
        self.call_p = False

    def child_after_fork(self) -> None:
        self._record("child_after_fork")

    def add_class_serial(self, serial: int) -> None:
        self.serials.add(serial)

    def remove_class_serial(self, serial: int) -> None:
        self.serials.discard(serial)

    def valid_class_serial_p(self, serial: int) -> bool:
        return serial in self.serials

    def copy_cache_from_main_thread(self, iseq, cc_entries, is_entries) -> bool:
        self._record("copy_cache_from_main_thread", iseq)
        if self.copy_result:
            self.host.copy_caches(iseq, cc_entries, is_entries)
        return self.copy_result

    def stats(self):
        return {"calls": len(self.calls)}


def make_host(**options) -> tuple[Host, RecordingEngine]:
    """A host with a recording engine attached; the caller closes the host."""
    host = Host(Options(cc="gcc", cc_family="gcc", **options))
    engine = RecordingEngine(host)
    host.attach(engine)
    return host, engine


class FakeCompiled:
    """A callable C function pointer (a ctypes callback) standing in for compiled code."""

    def __init__(self, fn) -> None:
        self._callback = JIT_FUNC_TYPE(lambda argv: fn(argv))
        self.address = ctypes.cast(self._callback, ctypes.c_void_p).value
        self.jit_func = JitFunc(self.address, 1)


def add_iseq(host: Host):
    """``add(a, b) = a + b``."""
    return host.define("add", [Insn("arg", 0), Insn("arg", 1), Insn("add"), Insn("ret")], argc=2)


def test_recording_engine_records_calls_with_their_thread():
    host, engine = make_host()
    with host:
        engine.init()
        assert engine.calls == [("init",)] and engine.threads == ["MainThread"]
        assert host.default_class in engine.serials
