"""Shared libraries: ``dlopen`` through ``ctypes.CDLL`` with RTLD_NOW, ``dlsym`` and
``dlclose`` on the raw handle."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import _ctypes

__all__ = ["Library"]


class Library:
    """One dlopen handle.  Raises OSError when the file cannot be loaded."""

    def __init__(self, path: Path) -> None:
        # RTLD_NOW: every symbol is resolved at load time, so a broken library fails here
        # and not at its first call (LOAD-1).
        self.handle = ctypes.CDLL(os.fspath(path), mode=os.RTLD_NOW | os.RTLD_LOCAL)._handle

    def symbol(self, name: str) -> int:
        """Address of ``name``; OSError when it is missing."""
        if not self.handle:
            raise OSError(f"{name}: library already closed")
        return _ctypes.dlsym(self.handle, name)

    def close(self) -> None:
        """dlclose once; later calls do nothing."""
        handle, self.handle = self.handle, 0
        if handle:
            _ctypes.dlclose(handle)
