"""dlopen, dlsym, dlclose and dlerror of the C library, through ctypes."""

from __future__ import annotations

import ctypes
import ctypes.util
import os

RTLD_NOW = os.RTLD_NOW


def _load_libdl() -> ctypes.CDLL:
    # glibc >= 2.34 has the dl functions in libc itself; older ones keep them in libdl.
    for name in (None, ctypes.util.find_library("dl"), "libdl.so.2"):
        try:
            lib = ctypes.CDLL(name)
            lib.dlopen  # noqa: B018 - probe for the symbol
            return lib
        except (OSError, AttributeError):
            continue
    raise OSError("no dlopen in this process")


_lib = _load_libdl()
_lib.dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
_lib.dlopen.restype = ctypes.c_void_p
_lib.dlsym.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_lib.dlsym.restype = ctypes.c_void_p
_lib.dlclose.argtypes = [ctypes.c_void_p]
_lib.dlclose.restype = ctypes.c_int
_lib.dlerror.argtypes = []
_lib.dlerror.restype = ctypes.c_char_p


def dlopen(path: str, flags: int = RTLD_NOW) -> int | None:
    """Load ``path``; the handle, or None on failure (then see ``dlerror``)."""
    return _lib.dlopen(os.fsencode(path), flags) or None


def dlsym(handle: int, name: str) -> int | None:
    """Address of symbol ``name`` in ``handle``, or None."""
    return _lib.dlsym(handle, name.encode()) or None


def dlclose(handle: int) -> bool:
    """Close ``handle``; True on success."""
    return _lib.dlclose(handle) == 0


def dlerror() -> str:
    """The last dl error of this thread, or an empty string."""
    msg = _lib.dlerror()
    return msg.decode(errors="replace") if msg else ""
