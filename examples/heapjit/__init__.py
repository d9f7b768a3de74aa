"""heapjit: a second MJIT engine for pytest-mjit, written from PROTOCOL.md alone.

Use it with ``--mjit-engine=examples.heapjit:create_engine``; docs/engines.md tells how it
was written and how it differs from the reference engine.
"""

from ._engine import HeapEngine

__all__ = ["create_engine", "HeapEngine"]


def create_engine(host, options) -> HeapEngine:
    """The factory pytest-mjit calls: one engine for one host."""
    return HeapEngine(host, options)
