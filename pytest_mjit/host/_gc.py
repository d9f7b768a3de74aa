"""GC as the host runs it: the engine's hooks around a mark-and-sweep over ISeqs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._errors import MjitError
from ._bytecode import ISeq

if TYPE_CHECKING:
    from ._vm import Host

__all__ = ["begin", "sweep", "end"]


def begin(host: "Host") -> None:
    """``engine.gc_start_hook()``, then the host is in GC."""
    if host._in_gc:
        raise MjitError("gc_begin: the host is already in GC")
    if host.engine is not None:
        host._log.record("gc_start_hook:enter")
        host.engine.gc_start_hook()
        host._log.record("gc_start_hook:exit")
    with host._lock:
        if host._generating > host._copy_waits:
            host._violation("GC started while generate_code runs outside a copy job "
                            "(gc_start_hook did not wait for in_jit)")
        host._in_gc = True


def sweep(host: "Host") -> list[ISeq]:
    """Free every ISeq not reachable from the roots, the stacks and ``engine.mark()``."""
    if not host._in_gc:
        raise MjitError("gc_sweep: call gc_begin first")
    roots = [host._iseqs[i] for i in host._roots if i in host._iseqs]
    roots += host._frames + host._held
    if host.engine is not None:
        for iseq in host.engine.mark() or ():
            if isinstance(iseq, ISeq) and iseq.freed:
                host._violation(f"engine.mark() returned freed ISeq {iseq.name!r}", iseq)
            elif isinstance(iseq, ISeq) and iseq._host is host:
                roots.append(iseq)
    alive: set[int] = set()
    while roots:
        iseq = roots.pop()
        if iseq.id not in alive:
            alive.add(iseq.id)
            roots.extend(cc.callee for cc in iseq._call_caches)
    freed = [iseq for i, iseq in host._iseqs.items() if i not in alive]
    for iseq in freed:
        if host.engine is not None:
            host.engine.free_iseq(iseq)
        host._log.record("free_iseq", iseq.id)
        iseq.freed = True
        del host._iseqs[iseq.id]
        host._roots.discard(iseq.id)
    return freed


def end(host: "Host") -> None:
    """The host leaves GC, then ``engine.gc_exit_hook()``."""
    if not host._in_gc:
        raise MjitError("gc_end: the host is not in GC")
    with host._lock:
        host._in_gc = False
    if host.engine is not None:
        host._log.record("gc_exit_hook:enter")
        host.engine.gc_exit_hook()
        host._log.record("gc_exit_hook:exit")
