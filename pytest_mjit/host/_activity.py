"""What the host is doing that GC and code generation must exclude: GC, running
``generate_code`` calls, copy-job waits inside them, and the main thread blocked in ``wait``."""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator

__all__ = ["Activity"]


class Activity:
    """Counters and flags shared by the main thread and engine threads, under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_gc = False
        self._generating = 0        #: generate_code calls running
        self._copy_waits = 0        #: of those, how many wait for a copy job
        self._main_waiting = False  #: the main thread is blocked in engine.wait

    @property
    def in_gc(self) -> bool:
        """True between ``gc_begin`` and ``gc_end``."""
        with self._lock:
            return self._in_gc

    def enter_gc(self) -> bool:
        """The host is in GC from now on.  Returns True if ``generate_code`` runs outside a
        copy job at this moment (the engine's GC hook did not wait for it)."""
        with self._lock:
            self._in_gc = True
            return self._generating > self._copy_waits

    def leave_gc(self) -> None:
        """The host is out of GC."""
        with self._lock:
            self._in_gc = False

    @contextlib.contextmanager
    def generating(self) -> Iterator[bool]:
        """One ``generate_code`` call runs for the block; yields whether the host was in GC
        when it began."""
        with self._lock:
            in_gc = self._in_gc
            self._generating += 1
        try:
            yield in_gc
        finally:
            with self._lock:
                self._generating -= 1

    @contextlib.contextmanager
    def copy_wait(self) -> Iterator[None]:
        """A running ``generate_code`` waits for a copy job for the block (GC may run)."""
        with self._lock:
            self._copy_waits += 1
        try:
            yield
        finally:
            with self._lock:
                self._copy_waits -= 1

    @contextlib.contextmanager
    def main_waiting(self) -> Iterator[None]:
        """The main thread is blocked in ``engine.wait`` for the block: a thread working for
        it may use main-thread services (COPYJOB-7)."""
        with self._lock:
            self._main_waiting = True
        try:
            yield
        finally:
            with self._lock:
                self._main_waiting = False

    @property
    def main_is_waiting(self) -> bool:
        """True while the main thread is blocked in ``engine.wait``."""
        with self._lock:
            return self._main_waiting

    def after_fork_in_child(self) -> None:
        """No other thread exists in a forked child: a fresh lock and no code generation."""
        self._lock = threading.Lock()
        self._generating = 0
        self._copy_waits = 0
