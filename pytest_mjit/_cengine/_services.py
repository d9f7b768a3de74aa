"""The host's services as C function pointers (``struct pmj_host``) for one C engine instance.

Each service runs with the GIL, on whatever thread the engine calls it from.  A service that
raises (a harness deadline expiring on the main thread, a host error) abandons the engine: it
and every later service return ABORT, and the engine unwinds."""

from __future__ import annotations

import ctypes
import io
import threading
from typing import TYPE_CHECKING, Any, Callable

from .. import sync
from ..host._cbody import CCallCache, CInlineStorage
from ._abi import (ABI_VERSION, ABORT, JOB_FUNC, OK, SERVICE_TYPES, THREAD_FUNC, COptions,
                   HostServices)
from ._sync import Cond, Mutex

if TYPE_CHECKING:
    from ._engine import CEngine

__all__ = ["Services"]

_libc = ctypes.CDLL(None)
_libc.fwrite.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p]
_libc.fwrite.restype = ctypes.c_size_t


def _int_out(ptr: Any, value: int) -> None:
    ptr[0] = value


class Services:
    """Builds ``struct pmj_host`` for ``engine`` and keeps every callback object alive."""

    def __init__(self, engine: "CEngine", header_file: str, options: COptions) -> None:
        self._engine = engine
        self._objects: dict[int, Any] = {}
        self._next_handle = 1
        self._handles_lock = threading.Lock()
        self._callbacks: list[Any] = []
        self.threads: list[Any] = []
        self._header = header_file.encode()
        self.options = options
        table = HostServices(abi_version=ABI_VERSION, size=ctypes.sizeof(HostServices),
                             header_file=self._header, options=ctypes.pointer(options))
        for name, ctype in SERVICE_TYPES.items():
            impl = getattr(self, "_" + name)
            wrapped = (self._plain(impl) if name.endswith(("_new", "_free"))
                       else self._guarded(impl))
            cb = ctype(wrapped)
            self._callbacks.append(cb)
            setattr(table, name, cb)
        self.table = table

    # -- the guard every service runs under ----------------------------------------------

    def _guarded(self, impl: Callable[..., Any]) -> Callable[..., int]:
        engine = self._engine

        def service(*args: Any) -> int:
            if engine.abandoned:
                return ABORT
            try:
                result = impl(*args)
            except BaseException as exc:   # a deadline, an interrupt or a host error
                engine.abandon(exc)
                return ABORT
            return OK if result is None else result
        return service

    def _plain(self, impl: Callable[..., Any]) -> Callable[..., Any]:
        engine = self._engine

        def service(*args: Any) -> Any:
            try:
                return impl(*args)
            except BaseException as exc:
                engine.abandon(exc)
                return None
        return service

    def _new_handle(self, obj: Any) -> int:
        with self._handles_lock:
            handle = self._next_handle
            self._next_handle += 1
            self._objects[handle] = obj
        return handle

    def _object(self, handle: int | None, kind: type) -> Any:
        obj = self._objects.get(handle or 0)
        if not isinstance(obj, kind):
            raise RuntimeError(f"the C engine used a {kind.__name__.lower()} handle "
                               f"{handle!r} that it never made or already destroyed")
        return obj

    # -- code generation and the copy job --------------------------------------------------

    def _generate_code(self, out: int, iseq: int, funcname: bytes, ok: Any) -> None:
        engine = self._engine
        text = io.StringIO()
        done = engine.host.generate_code(text, engine.iseq_at(iseq), funcname.decode(), None,
                                         engine)
        if done:
            data = text.getvalue().encode()
            done = _libc.fwrite(data, 1, len(data), out) == len(data)
        _int_out(ok, int(bool(done)))

    def _register_postponed_job(self, fn: int, data: int, accepted: Any) -> None:
        job = JOB_FUNC(fn)
        engine = self._engine

        def run(_data: Any) -> None:
            if not engine.abandoned:
                job(data)
            engine.raise_if_abandoned()
        _int_out(accepted, int(bool(engine.host.register_postponed_job(run, None))))

    def _copy_caches(self, iseq: int, cc_ptr: int | None, is_ptr: int | None) -> None:
        engine = self._engine
        entries = engine.observe_copy(iseq)
        if entries is None:
            return
        cc, is_ = entries
        if cc_ptr:
            buf = ctypes.cast(cc_ptr, ctypes.POINTER(CCallCache))
            for i, e in enumerate(cc):
                buf[i].callee_id, buf[i].class_serial = e.callee_id, e.class_serial
        if is_ptr:
            sbuf = ctypes.cast(is_ptr, ctypes.POINTER(CInlineStorage))
            for i, c in enumerate(is_):
                sbuf[i].value = c.value

    # -- interrupts, stacks, GC -----------------------------------------------------------

    def _check_ints(self) -> None:
        self._engine.host.check_ints()

    def _sleep(self, seconds: float) -> None:
        self._engine.host.sleep(seconds)

    def _iseqs_on_stack(self, out: Any, cap: int, count: Any, n_threads: Any) -> None:
        on_thread, on_cont = self._engine.host.frames_on_stack()
        every = on_thread + on_cont
        for i, iseq in enumerate(every[:cap]):
            out[i] = iseq.c_address
        _int_out(count, len(every))
        _int_out(n_threads, len(on_thread))

    def _gc_mark(self, iseq: int) -> None:
        self._engine.marked.append(self._engine.iseq_at(iseq))

    # -- threads, mutexes, conditions -------------------------------------------------------

    def _thread_create(self, fn: int, arg: int, name: bytes, started: Any) -> None:
        func = THREAD_FUNC(fn)
        thread = sync.Thread(target=func, args=(arg,), name=name.decode(), daemon=True)
        thread.start()
        self.threads.append(thread)
        _int_out(started, 1)

    def _mutex_new(self) -> int:
        return self._new_handle(Mutex(lambda: self._engine.abandoned))

    def _mutex_lock(self, handle: int) -> int:
        return self._object(handle, Mutex).lock()

    def _mutex_unlock(self, handle: int) -> int:
        return self._object(handle, Mutex).unlock()

    def _mutex_free(self, handle: int) -> None:
        with self._handles_lock:
            self._objects.pop(handle or 0, None)

    def _cond_new(self) -> int:
        return self._new_handle(Cond(lambda: self._engine.abandoned))

    def _cond_wait(self, cond: int, mutex: int) -> int:
        return self._object(cond, Cond).wait(self._object(mutex, Mutex))

    def _cond_signal(self, handle: int) -> int:
        return self._object(handle, Cond).signal()

    def _cond_broadcast(self, handle: int) -> int:
        return self._object(handle, Cond).broadcast()

    _cond_free = _mutex_free
