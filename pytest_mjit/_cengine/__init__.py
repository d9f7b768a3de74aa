"""C engines: a shared library implementing ``pytest_mjit_engine.h`` as a Python engine."""

from ._abi import HEADER_DIR
from ._engine import CEngine

__all__ = ["CEngine", "HEADER_DIR"]
