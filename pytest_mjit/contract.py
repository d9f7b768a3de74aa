"""The contract between the host (the VM), an engine and the harness (DESIGN.md).

``EngineHost`` (what the VM offers an engine; ``pytest_mjit.host.Host`` is the harness's VM
that implements it) and ``Engine`` are structural protocols: an engine need not import them,
it only has to provide the methods.  Every method says which thread may call it and which C
function of CRuby 2.7 it models.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import IO, Any, Callable, Iterable, Mapping, Protocol, runtime_checkable

from ._options import Options

__all__ = [
    "JitState", "JitFunc", "CAPABILITIES", "Engine", "EngineHost", "EngineFactory",
    "is_compiled",
]


class JitState(enum.IntEnum):
    """The non-function values of ``body.jit_func`` (C: ``enum rb_mjit_iseq_func``)."""

    NOT_ADDED = 0
    NOT_READY = 1
    NOT_COMPILED = 2


#: C's LAST_JIT_ISEQ_FUNC: a jit_func at or below it means "interpret".
LAST_JIT_ISEQ_FUNC = JitState.NOT_COMPILED


@dataclasses.dataclass(frozen=True)
class JitFunc:
    """Compiled code: the address of ``int64_t _mjit<unit_id>(int64_t *args)`` in a loaded .so."""

    address: int
    unit_id: int

    def __post_init__(self) -> None:
        if not isinstance(self.address, int) or self.address <= int(LAST_JIT_ISEQ_FUNC):
            raise ValueError(f"JitFunc.address must be a real code address, got {self.address!r}")


def is_compiled(jit_func: object) -> bool:
    """True when ``jit_func`` is compiled code rather than a ``JitState``."""
    return isinstance(jit_func, JitFunc)


#: Feature names an engine may claim in ``Engine.capabilities``.  Clauses of a capability the
#: engine does not claim are reported UNSUPPORTED, never PASS.
CAPABILITIES = frozenset(
    {"pch", "copy_job", "fork", "compaction", "unload", "recompile", "class_serials"}
)


@runtime_checkable
class EngineHost(Protocol):
    """What the VM offers an engine (MRI's side of mjit.c/mjit_worker.c)."""

    #: Path of the minimized header the PCH is built from (C: ``header_file``).  Any thread.
    header_file: str

    def generate_code(self, out: IO[str], iseq: Any, funcname: str,
                      compile_info: Any, engine: "Engine") -> bool:
        """Write C for ``iseq`` as ``int64_t funcname(int64_t *args)`` to ``out``.

        Worker thread, only while the engine holds ``in_jit`` (C: ``mjit_compile``).  When the
        ISeq has call caches it calls ``engine.copy_cache_from_main_thread`` and returns False
        if that fails."""

    def register_postponed_job(self, fn: Callable[[Any], None], data: Any) -> bool:
        """Queue ``fn(data)`` to run on the main thread at its next ``check_ints``.
        Worker thread (C: ``rb_workqueue_register``).  False when refused."""

    def copy_caches(self, iseq: Any, cc_entries: list, is_entries: list) -> None:
        """Fill the worker's buffers with the ISeq's call caches and inline storage.
        Main thread only; a call from another thread is recorded as a violation
        (C: the body of ``mjit_copy_job_handler``)."""

    def check_ints(self) -> None:
        """Run pending postponed jobs.  Main thread (C: ``RUBY_VM_CHECK_INTS``)."""

    def sleep(self, seconds: float) -> None:
        """Sleep while polling interrupts.  Main thread (C: ``rb_thread_wait_for``)."""

    def iseqs_on_stack(self) -> Iterable[Any]:
        """ISeqs with a frame on any living thread's or continuation's stack.  Main thread
        (what ``unload_units`` walks)."""


@runtime_checkable
class Engine(Protocol):
    """What every engine implements (CRuby's mjit.c client API + the worker).

    Every client method is called from the host's main thread only."""

    enabled: bool   #: C ``mjit_enabled``
    call_p: bool    #: C ``mjit_call_p``: compiled code may be called
    capabilities: frozenset  #: a subset of ``CAPABILITIES``
    name: str       #: short engine name for reports
    version: str    #: engine version for reports

    def init(self) -> None:
        """Start the engine: tmp dir, PCH owner, worker thread (C: ``mjit_init``)."""

    def add_iseq_to_process(self, iseq: Any, compile_info: Any = None) -> None:
        """Queue ``iseq``; sets ``jit_func`` to NOT_READY first
        (C: ``mjit_add_iseq_to_process``)."""

    def wait(self, iseq: Any) -> Any:
        """Block until ``iseq`` is compiled or fails, bounded by ``wait_timeout``; returns its
        ``jit_func`` (C: ``mjit_wait``)."""

    def recompile(self, iseq: Any) -> None:
        """Discard the ISeq's code and queue it again (C: ``mjit_recompile``)."""

    def gc_start_hook(self) -> None:
        """GC starts: wait for ``in_jit`` to clear, then set ``in_gc``
        (C: ``mjit_gc_start_hook``)."""

    def gc_exit_hook(self) -> None:
        """GC ended: clear ``in_gc`` and wake the worker (C: ``mjit_gc_exit_hook``)."""

    def free_iseq(self, iseq: Any) -> None:
        """GC frees ``iseq``: forget it in the copy job, its unit and stale units
        (C: ``mjit_free_iseq``)."""

    def mark(self) -> Iterable[Any]:
        """ISeqs the engine keeps alive: the copy job's and the queued ones (C: ``mjit_mark``)."""

    def pause(self, wait: bool = True) -> bool:
        """Stop the worker, first draining the queue when ``wait`` (C: ``mjit_pause``)."""

    def resume(self) -> bool:
        """Start a worker again (C: ``mjit_resume``)."""

    def finish(self, close_handle: bool = True) -> None:
        """Stop everything and free all units and files (C: ``mjit_finish``)."""

    def child_after_fork(self) -> None:
        """In a forked child: inherit units' .o files and start a worker
        (C: ``mjit_child_after_fork``)."""

    def add_class_serial(self, serial: int) -> None: ...
    def remove_class_serial(self, serial: int) -> None: ...
    def valid_class_serial_p(self, serial: int) -> bool:
        """True if ``serial`` was added and not removed; safe from any thread."""

    def copy_cache_from_main_thread(self, iseq: Any, cc_entries: list, is_entries: list) -> bool:
        """Worker side: have the main thread copy the caches (C:
        ``mjit_copy_cache_from_main_thread``)."""

    def stats(self) -> Mapping[str, Any]:
        """List lengths, PCH status and worker state, for reports only."""


EngineFactory = Callable[[EngineHost, Options], Engine]
