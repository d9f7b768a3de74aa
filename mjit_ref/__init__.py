"""mjit_ref: the reference engine, a readable Python model of CRuby 2.7's MJIT.

``create_engine(host, options)`` is registered as the engine ``ref``.
"""

from __future__ import annotations

from typing import Any

from pytest_mjit import Options

from ._engine import VERSION, Engine

__all__ = ["Engine", "create_engine", "__version__"]

__version__ = VERSION


def create_engine(host: Any, options: Options) -> Engine:
    """A new, not yet started, reference engine for ``host`` (call ``init()`` to start it)."""
    return Engine(host, options)
