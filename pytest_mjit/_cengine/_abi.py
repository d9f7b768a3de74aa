"""ctypes mirrors of ``pytest_mjit_engine.h``: the host-service table, options, engine info
and the entry points' signatures."""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
from ctypes import (CFUNCTYPE, POINTER, c_char_p, c_double, c_int, c_int32, c_size_t,
                    c_uint32, c_uint64, c_void_p)
from typing import Any

from .._errors import MjitError
from ..host._cbody import CCallCache, CInlineStorage

__all__ = [
    "ABI_VERSION", "OK", "ERROR", "ABORT", "HostServices", "COptions", "EngineInfo",
    "JOB_FUNC", "THREAD_FUNC", "load_private_copy", "HEADER_DIR", "COPY_PREFIX",
    "is_engine_copy",
]

ABI_VERSION = 1
OK, ERROR, ABORT = 0, 1, 2

#: Where ``pytest_mjit_engine.h`` is installed (``-I`` this to build a C engine).
HEADER_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "include")

#: Name prefix of the private copies of C engine libraries, made in the system tmp dir.
COPY_PREFIX = "pytest-mjit-engine-"

JOB_FUNC = CFUNCTYPE(None, c_void_p)
THREAD_FUNC = CFUNCTYPE(None, c_void_p)

_SERVICES: list[tuple[str, Any]] = [
    ("generate_code", CFUNCTYPE(c_int, c_void_p, c_void_p, c_char_p, POINTER(c_int))),
    ("register_postponed_job", CFUNCTYPE(c_int, c_void_p, c_void_p, POINTER(c_int))),
    ("copy_caches", CFUNCTYPE(c_int, c_void_p, c_void_p, c_void_p)),
    ("check_ints", CFUNCTYPE(c_int)),
    ("sleep", CFUNCTYPE(c_int, c_double)),
    ("iseqs_on_stack", CFUNCTYPE(c_int, POINTER(c_void_p), c_size_t, POINTER(c_size_t),
                                 POINTER(c_size_t))),
    ("gc_mark", CFUNCTYPE(c_int, c_void_p)),
    ("thread_create", CFUNCTYPE(c_int, c_void_p, c_void_p, c_char_p, POINTER(c_int))),
    ("mutex_new", CFUNCTYPE(c_void_p)),
    ("mutex_lock", CFUNCTYPE(c_int, c_void_p)),
    ("mutex_unlock", CFUNCTYPE(c_int, c_void_p)),
    ("mutex_free", CFUNCTYPE(None, c_void_p)),
    ("cond_new", CFUNCTYPE(c_void_p)),
    ("cond_wait", CFUNCTYPE(c_int, c_void_p, c_void_p)),
    ("cond_signal", CFUNCTYPE(c_int, c_void_p)),
    ("cond_broadcast", CFUNCTYPE(c_int, c_void_p)),
    ("cond_free", CFUNCTYPE(None, c_void_p)),
]
SERVICE_TYPES = dict(_SERVICES)


class COptions(ctypes.Structure):
    _fields_ = [
        ("wait", c_int32), ("save_temps", c_int32), ("warnings", c_int32), ("debug", c_int32),
        ("verbose", c_int32), ("min_calls", c_int32), ("max_cache_size", c_int32),
        ("cc_is_clang", c_int32), ("wait_timeout", c_double), ("cc", c_char_p),
        ("debug_flags", POINTER(c_char_p)), ("tmp_dir", c_char_p),
    ]


class HostServices(ctypes.Structure):
    _fields_ = [("abi_version", c_uint32), ("size", c_uint32), ("header_file", c_char_p),  # type: ignore[assignment]
                ("options", POINTER(COptions))] + _SERVICES


class EngineInfo(ctypes.Structure):
    _fields_ = [("name", c_char_p), ("version", c_char_p), ("capabilities", c_char_p)]


_ENTRY_POINTS = {
    "pmj_engine_abi": [],
    "pmj_engine_create": [POINTER(HostServices), POINTER(EngineInfo)],
    "pmj_enabled": [],
    "pmj_call_p": [],
    "pmj_init": [],
    "pmj_add_iseq_to_process": [c_void_p],
    "pmj_wait": [c_void_p],
    "pmj_recompile": [c_void_p],
    "pmj_gc_start_hook": [],
    "pmj_gc_exit_hook": [],
    "pmj_free_iseq": [c_void_p],
    "pmj_mark": [],
    "pmj_pause": [c_int, POINTER(c_int)],
    "pmj_resume": [POINTER(c_int)],
    "pmj_finish": [c_int],
    "pmj_child_after_fork": [],
    "pmj_add_class_serial": [c_uint64],
    "pmj_remove_class_serial": [c_uint64],
    "pmj_valid_class_serial_p": [c_uint64, POINTER(c_int)],
    "pmj_copy_cache_from_main_thread": [c_void_p, POINTER(CCallCache), POINTER(CInlineStorage),
                                        POINTER(c_int)],
    "pmj_stats": [c_char_p, c_size_t],
    "pmj_last_error": [],
}


def is_engine_copy(path: str) -> bool:
    """True for the path of a private copy of a C engine library (the engine itself, loaded
    for as long as the process lives, not code an engine produced)."""
    return (os.path.dirname(os.path.realpath(path)) == os.path.realpath(tempfile.gettempdir())
            and os.path.basename(path).startswith(COPY_PREFIX))


def load_private_copy(path: str) -> ctypes.CDLL:
    """Load a copy of the engine library ``path`` that shares no state with other copies.

    A C engine keeps its state in statics, so each engine instance gets its own copy (loaded
    with RTLD_LOCAL, the file unlinked once mapped).  Raises ``MjitError`` naming a missing
    entry point or a library that does not load."""
    fd, copy = tempfile.mkstemp(prefix=COPY_PREFIX, suffix=".so")
    try:
        with os.fdopen(fd, "wb") as dst, open(path, "rb") as src:
            shutil.copyfileobj(src, dst)
        try:
            lib = ctypes.CDLL(copy, mode=os.RTLD_NOW | os.RTLD_LOCAL)
        except OSError as exc:
            raise MjitError(f"C engine {path}: cannot load it ({exc})") from None
    finally:
        os.unlink(copy)
    for name, argtypes in _ENTRY_POINTS.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise MjitError(f"C engine {path}: it does not export {name} "
                            "(see pytest_mjit_engine.h)") from None
        fn.argtypes = argtypes
        fn.restype = c_int
    lib.pmj_last_error.argtypes = []
    lib.pmj_last_error.restype = c_char_p
    return lib
