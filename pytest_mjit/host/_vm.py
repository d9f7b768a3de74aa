"""class Host: the VM an engine serves (MRI's side of MJIT)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import tempfile
import threading
from typing import IO, Any, Callable, Iterator

from ..contract import JitState, is_compiled
from .. import sync
from .._errors import MjitError
from .._options import Options
from . import _fork
from ._activity import Activity
from ._bytecode import (CallCache, Constant, InlineStorage, Insn, ISeq, Location, check_int64,
                        verify)
from ._codegen_service import CodegenService
from ._events import Event, EventLog
from ._gates import Gate, GatePoints
from ._gc import Collector
from ._heap import Heap, Stacks
from ._header import write_header
from ._interp import StepBudget, interpret
from ._postponed import PostponedJobs
from ._maps import is_executable

__all__ = ["Host", "DEFAULT_STEP_LIMIT", "MAX_CALL_DEPTH"]

#: Instructions one top-level call may interpret before ``MjitError`` (``host.step_limit``).
DEFAULT_STEP_LIMIT = 1_000_000
#: Nested calls deeper than this raise ``MjitError``.
MAX_CALL_DEPTH = 100

_JIT_FUNC_TYPE = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.POINTER(ctypes.c_int64))


class Host:
    """The VM: ISeqs, the call path, GC, postponed jobs, frames, gates, fork and an event log.

    The thread that builds it is its main thread.  See docs/host.md."""

    def __init__(self, options: Options, header_file: str | None = None, *,
                 step_limit: int = DEFAULT_STEP_LIMIT) -> None:
        if not isinstance(options, Options):
            raise MjitError(f"Host needs a pytest_mjit.Options, got {type(options).__name__}")
        self.options = options
        self.main_thread_id = threading.get_ident()
        self.engine: Any = None
        self.step_limit = step_limit
        #: While True, ``register_postponed_job`` refuses (returns False).
        self.refuse_postponed_jobs = False
        #: While True, interrupt checks leave postponed jobs queued, as MRI's
        #: ``RUBY_VM_CHECK_INTS`` may when the thread is not at TAG_NONE (the reason the C's
        #: copy-job wait also ends on a stop request, STOP-5).
        self.defer_postponed_jobs = False
        self._log = EventLog()
        self._gates = GatePoints(self._violation)
        self._jobs = PostponedJobs(self._log, self._violation)
        self._heap = Heap()
        self._stacks = Stacks()
        self._activity = Activity()
        self._collector = Collector(self._heap, self._stacks, self._activity, self._log,
                                    self._violation)
        self._codegen = CodegenService(self._activity, self._log, self._gates, self._violation)
        self._consts: dict[str, Constant] = {}
        self._classes: set[int] = set()
        self._next_serial = 1
        self._budget = StepBudget(step_limit)
        self._private_dir: str | None = None
        if header_file is None:
            self._private_dir = tempfile.mkdtemp(prefix="pytest_mjit_host_")
            header_file = write_header(self._private_dir)
        header_file = os.fspath(header_file)
        if not header_file.endswith(".h") or not os.path.isfile(header_file):
            raise MjitError(f"Host header_file must be an existing '*.h' file, got {header_file!r}")
        self.header_file = header_file
        #: The class serial ISeqs are defined in unless told otherwise.
        self.default_class = self.new_class()

    # -- lifetime -----------------------------------------------------------------------

    def attach(self, engine: Any) -> None:
        """Use ``engine`` from now on and register every live class serial with it."""
        self._require_main("attach")
        if self.engine is not None:
            raise MjitError("Host.attach: an engine is already attached")
        self.engine = engine
        for serial in sorted(self._classes):
            engine.add_class_serial(serial)

    def close(self) -> None:
        """Open every gate and remove the private header directory, if any.  Idempotent."""
        self._gates.release_all()
        if self._private_dir is not None:
            shutil.rmtree(self._private_dir, ignore_errors=True)
            self._private_dir = None

    def __enter__(self) -> "Host":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- definitions (main thread) ------------------------------------------------------

    def define(self, name: str, code: Any, argc: int = 0, nlocals: int = 0, calls: Any = (),
               consts: Any = (), path: str = "<pytest_mjit>", lineno: int = 1,
               class_serial: int | None = None, root: bool = True) -> ISeq:
        """Verify ``code`` and make it a method; ``MjitError`` names what is wrong."""
        self._require_main("define")
        if not isinstance(name, str) or not name:
            raise MjitError(f"define: name must be a non-empty string, got {name!r}")
        for what, value in (("argc", argc), ("nlocals", nlocals), ("lineno", lineno)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise MjitError(f"define {name!r}: {what} must be an int >= 0, got {value!r}")
        code = tuple(Insn(*i) if isinstance(i, tuple) else i for i in code)
        calls = tuple(calls)
        for callee in calls:
            self._check_iseq(callee, f"define {name!r}: callee")
        consts = tuple(consts)
        for const in consts:
            if const not in self._consts:
                raise MjitError(f"define {name!r}: constant {const!r} is not defined "
                                "(call host.set_const first)")
        serial = self.default_class if class_serial is None else class_serial
        if serial not in self._classes:
            raise MjitError(f"define {name!r}: class serial {serial!r} is not a live class")
        depths = verify(name, code, argc, nlocals, [c.argc for c in calls], len(consts))
        iseq = ISeq(self, self._heap.new_id(), name, code, argc, nlocals, serial,
                    Location(name, str(path), lineno),
                    [CallCache(c, c.class_serial) for c in calls],
                    [InlineStorage(self._consts[n]) for n in consts], depths)
        self._heap.add(iseq, root)
        return iseq

    def set_const(self, name: str, value: int) -> None:
        """Define or change the constant ``name``."""
        self._require_main("set_const")
        if not isinstance(name, str) or not name:
            raise MjitError(f"set_const: name must be a non-empty string, got {name!r}")
        value = check_int64(value, f"the value of constant {name!r}")
        if name in self._consts:
            const = self._consts[name]
            const.value = value
            for iseq in self._heap.live():
                if any(e.constant is const for e in iseq._inline_storage):
                    iseq.sync_caches()
        else:
            self._consts[name] = Constant(name, value)

    def set_call_target(self, iseq: ISeq, cache: int, callee: ISeq) -> None:
        """Re-point call cache ``cache`` of ``iseq`` to ``callee`` (same argc)."""
        self._require_main("set_call_target")
        self._check_iseq(iseq, "set_call_target")
        self._check_iseq(callee, "set_call_target: callee")
        if not isinstance(cache, int) or not 0 <= cache < iseq._ncalls:
            raise MjitError(f"set_call_target: {iseq.name!r} has no call cache {cache!r}")
        old = iseq._call_caches[cache]
        if callee.argc != old.callee.argc:
            raise MjitError(f"set_call_target: call cache {cache} of {iseq.name!r} passes "
                            f"{old.callee.argc} argument(s); {callee.name!r} takes {callee.argc}")
        old.callee = callee
        old.class_serial = callee.class_serial
        iseq.sync_caches()

    def new_class(self) -> int:
        """A new class; its serial is registered with the engine.  Returns the serial."""
        self._require_main("new_class")
        serial = self._next_serial
        self._next_serial += 1
        self._classes.add(serial)
        if self.engine is not None:
            self.engine.add_class_serial(serial)
        return serial

    def free_class(self, serial: int) -> None:
        """Forget a class; its serial is removed from the engine (its methods stay callable)."""
        self._require_main("free_class")
        if serial not in self._classes:
            raise MjitError(f"free_class: {serial!r} is not a live class serial")
        self._classes.remove(serial)
        if self.engine is not None:
            self.engine.remove_class_serial(serial)

    def root(self, iseq: ISeq) -> None:
        """Keep ``iseq`` alive across GC."""
        self._require_main("root")
        self._check_iseq(iseq, "root")
        self._heap.root(iseq)

    def unroot(self, iseq: ISeq) -> None:
        """Let GC free ``iseq`` once nothing else keeps it alive."""
        self._require_main("unroot")
        self._heap.unroot(iseq)

    @property
    def iseqs(self) -> list[ISeq]:
        """Every ISeq GC has not freed, in definition order."""
        return self._heap.live()

    # -- the call path (main thread) ----------------------------------------------------

    def call(self, iseq: ISeq, *args: int) -> int:
        """Call ``iseq`` as the VM does (C: ``mjit_exec``): count, maybe enqueue, run code."""
        self._require_main("call")
        self._check_args(iseq, args)
        if not self._stacks.depth:
            self._budget = StepBudget(self.step_limit)
        return self._call(iseq, list(args))

    def interpret(self, iseq: ISeq, *args: int) -> int:
        """Run ``iseq`` in the interpreter only (nested calls still take the call path)."""
        self._require_main("interpret")
        self._check_args(iseq, args)
        if not self._stacks.depth:
            self._budget = StepBudget(self.step_limit)
        with self._stacks.running(iseq):
            return interpret(iseq, args, self._budget, self._call)

    def _call(self, iseq: ISeq, args: list[int]) -> int:
        if self._stacks.depth >= MAX_CALL_DEPTH:
            raise MjitError(f"call of {iseq.name!r} nests deeper than {MAX_CALL_DEPTH} frames")
        if not self.defer_postponed_jobs:
            self._jobs.run_pending()
        with self._stacks.running(iseq):
            body = iseq._body
            body.total_calls += 1
            self._log.record("call", iseq.id)
            engine = self.engine
            func = body.jit_func
            if (engine is not None and not is_compiled(func) and func == JitState.NOT_ADDED
                    and body.total_calls == self.options.min_calls and engine.enabled):
                self._log.record("enqueue", iseq.id)
                engine.add_iseq_to_process(iseq)
                if self.options.wait:
                    self._log.record("wait", iseq.id)
                    with self._activity.main_waiting():
                        engine.wait(iseq)
            func = body.jit_func
            if is_compiled(func) and engine is not None and engine.call_p:
                if is_executable(func.address):
                    self._log.record("jit_call", iseq.id, f"unit {func.unit_id}")
                    argv = (ctypes.c_int64 * max(1, len(args)))(*args)
                    return int(_JIT_FUNC_TYPE(func.address)(argv))
                self._violation(f"jit_func of {iseq.name!r} points to 0x{func.address:x}, "
                                "which is not in an executable mapping", iseq)
            return interpret(iseq, args, self._budget, self._call)

    @contextlib.contextmanager
    def frame(self, iseq: ISeq) -> Iterator[ISeq]:
        """Hold a frame of ``iseq`` on the stack (a suspended continuation or thread)."""
        self._require_main("frame")
        self._check_iseq(iseq, "frame")
        with self._stacks.holding(iseq):
            yield iseq

    # -- GC (main thread) ---------------------------------------------------------------

    def gc(self) -> list[ISeq]:
        """A whole GC: ``gc_begin``, ``gc_sweep``, ``gc_end``.  Returns the freed ISeqs."""
        self.gc_begin()
        try:
            return self.gc_sweep()
        finally:
            self.gc_end()

    def gc_begin(self) -> None:
        """``engine.gc_start_hook()``, then the host is in GC."""
        self._require_main("gc_begin")
        self._collector.begin(self.engine)

    def gc_sweep(self) -> list[ISeq]:
        """Free every ISeq not reachable from the roots, the stacks and ``engine.mark()``."""
        self._require_main("gc_sweep")
        return self._collector.sweep(self.engine)

    def gc_end(self) -> None:
        """The host leaves GC, then ``engine.gc_exit_hook()``."""
        self._require_main("gc_end")
        self._collector.end(self.engine)

    @property
    def in_gc(self) -> bool:
        """True between ``gc_begin`` and ``gc_end``."""
        return self._activity.in_gc

    # -- services for the engine ----------------------------------------------------------

    def generate_code(self, out: IO[str], iseq: ISeq, funcname: str, compile_info: Any,
                      engine: Any) -> bool:
        """Write C for ``iseq`` as ``int64_t funcname(int64_t *args)`` (C: ``mjit_compile``)."""
        self._check_iseq(iseq, "generate_code")
        return self._codegen.generate_code(out, iseq, funcname, engine)

    def copy_caches(self, iseq: ISeq, cc_entries: list, is_entries: list) -> None:
        """Fill the worker's buffers with frozen cache snapshots.  Main thread only."""
        self._check_iseq(iseq, "copy_caches")
        on_main = (threading.get_ident() == self.main_thread_id
                   or self._activity.main_is_waiting)
        self._codegen.copy_caches(iseq, cc_entries, is_entries, on_main)

    def register_postponed_job(self, fn: Callable[[Any], None], data: Any) -> bool:
        """Queue ``fn(data)`` for the main thread's next ``check_ints``; False when refused."""
        self._gates.pass_point("postponed:register")
        return self._jobs.register(fn, data, self.refuse_postponed_jobs)

    def check_ints(self) -> None:
        """Run pending postponed jobs (C: ``RUBY_VM_CHECK_INTS``).  Main thread only."""
        if not self._on_main("check_ints"):
            return
        self._log.record("check_ints")
        if not self.defer_postponed_jobs:
            self._jobs.run_pending()

    def sleep(self, seconds: float) -> None:
        """Sleep, running postponed jobs before and after (C: ``rb_thread_wait_for``)."""
        if not self._on_main("sleep"):
            return
        self.check_ints()
        sync.sleep(seconds)     # in a controlled run: the other threads run first
        self.check_ints()

    def iseqs_on_stack(self) -> list[ISeq]:
        """ISeqs with a frame on the stack, or held by ``host.frame``.  Main thread only."""
        self._on_main("iseqs_on_stack")
        running, held = self._stacks.frames()
        return list(dict.fromkeys(running + held))

    def frames_on_stack(self) -> tuple[list[ISeq], list[ISeq]]:
        """The ISeqs of the running frames (outermost first) and those held by ``host.frame``
        (suspended continuations), apart, as CRuby keeps threads' and continuations' stacks.
        Main thread only."""
        self._on_main("frames_on_stack")
        return self._stacks.frames()

    @property
    def pending_postponed_jobs(self) -> int:
        """How many postponed jobs wait for ``check_ints``."""
        return len(self._jobs)

    # -- gates, fork, events --------------------------------------------------------------

    def gate(self, point: str, iseq: ISeq | None = None) -> Gate:
        """Arm a gate: the next thread reaching ``point`` (for ``iseq``) stops there."""
        return self._gates.arm(point, iseq)

    def release_all(self) -> None:
        """Open every gate."""
        self._gates.release_all()

    def fork(self, child_fn: Callable[["Host"], Any], timeout: float = 60.0) -> "_fork.ForkResult":
        """Fork as MRI does; the child runs ``child_fn(host)``.  See docs/host.md."""
        self._require_main("fork")
        return _fork.run_fork(self, child_fn, timeout, self._log, self._after_fork_in_child)

    @property
    def events(self) -> list[Event]:
        """A copy of the event log."""
        return self._log.snapshot()

    def events_of(self, *kinds: str) -> list[Event]:
        """The events of the given kinds, in order."""
        return self._log.of_kind(*kinds)

    @property
    def violations(self) -> list[Event]:
        """The protocol violations seen so far (events of kind ``violation``)."""
        return self._log.of_kind("violation")

    # -- internals ------------------------------------------------------------------------

    def _violation(self, message: str, iseq: ISeq | None = None) -> None:
        self._log.record("violation", iseq.id if iseq is not None else None, message)

    def _on_main(self, what: str) -> bool:
        if threading.get_ident() == self.main_thread_id:
            return True
        self._violation(f"host.{what} called off the main thread")
        return False

    def _main_data_read(self, what: str, iseq: ISeq) -> None:
        if threading.get_ident() != self.main_thread_id:
            self._violation(f"iseq.{what} of {iseq.name!r} read off the main thread", iseq)

    def _require_main(self, what: str) -> None:
        if threading.get_ident() != self.main_thread_id:
            raise MjitError(f"host.{what} must be called on the host's main thread, "
                            f"not {threading.current_thread().name}")

    def _check_iseq(self, iseq: Any, what: str) -> None:
        if not isinstance(iseq, ISeq) or iseq._host is not self:
            raise MjitError(f"{what}: expected an ISeq of this host, got {iseq!r}")

    def _check_args(self, iseq: ISeq, args: tuple) -> None:
        self._check_iseq(iseq, "call")
        if iseq.freed:
            raise MjitError(f"call: ISeq {iseq.name!r} was freed by GC")
        if len(args) != iseq.argc:
            raise MjitError(f"call: {iseq.name!r} takes {iseq.argc} argument(s), got {len(args)}")
        for i, a in enumerate(args):
            check_int64(a, f"argument {i} of {iseq.name!r}")

    def _after_fork_in_child(self) -> None:
        self.main_thread_id = threading.get_ident()
        self._log.after_fork_in_child()
        self._jobs.after_fork_in_child()
        self._gates.after_fork_in_child()
        self._activity.after_fork_in_child()
