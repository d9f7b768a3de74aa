"""The C view of ISeqs: ctypes mirrors of ``pytest_mjit_engine.h`` and the memory the host keeps
every method's body in, so the ``jit_func`` a C engine stores is what the call path reads."""

from __future__ import annotations

import ctypes
import re
from typing import Any, Sequence

__all__ = [
    "CLocation", "CCallCache", "CCallInfo", "CCallData", "CInlineStorage", "CBody", "CIseq",
    "ISEQ_FLAGS", "ISEQ_TYPE_METHOD", "CMemory", "unit_id_at",
]

#: What ``iseq->flags`` holds (CRuby's imemo_iseq tag) and ``body->type`` (a method).
ISEQ_FLAGS = 0x7
ISEQ_TYPE_METHOD = 1


class CLocation(ctypes.Structure):
    _fields_ = [("label", ctypes.c_char_p), ("path", ctypes.c_char_p),
                ("first_lineno", ctypes.c_int64)]


class CCallCache(ctypes.Structure):
    _fields_ = [("class_serial", ctypes.c_uint64), ("callee_id", ctypes.c_uint64)]


class CCallInfo(ctypes.Structure):
    _fields_ = [("argc", ctypes.c_uint32), ("index", ctypes.c_uint32)]


class CCallData(ctypes.Structure):
    _fields_ = [("cc", CCallCache), ("ci", CCallInfo)]


class CInlineStorage(ctypes.Structure):
    _fields_ = [("value", ctypes.c_int64), ("constant_id", ctypes.c_uint64)]


class CBody(ctypes.Structure):
    _fields_ = [
        ("jit_func", ctypes.c_void_p), ("total_calls", ctypes.c_uint64),
        ("jit_unit", ctypes.c_void_p), ("location", CLocation),
        ("ci_size", ctypes.c_uint32), ("ci_kw_size", ctypes.c_uint32),
        ("is_size", ctypes.c_uint32), ("iseq_size", ctypes.c_uint32),
        ("call_data", ctypes.POINTER(CCallData)),
        ("is_entries", ctypes.POINTER(CInlineStorage)),
        ("type", ctypes.c_int32), ("reserved", ctypes.c_int32), ("iseq_id", ctypes.c_uint64),
    ]


class CIseq(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("wrapper", ctypes.c_uint64),
                ("body", ctypes.POINTER(CBody)), ("id", ctypes.c_uint64)]


class CMemory:
    """One method's C memory: the ``pmj_iseq``, its body, call data and inline storage.

    The main thread writes the caches (``set_calls``, ``set_consts``); the arrays keep their
    size for the method's life."""

    def __init__(self, iseq_id: int, label: str, path: str, lineno: int, code_size: int,
                 argcs: Sequence[int], nconsts: int) -> None:
        self._label = label.encode("utf-8", "replace")
        self._path = path.encode("utf-8", "replace")
        self.calls = (CCallData * max(1, len(argcs)))()
        self.consts = (CInlineStorage * max(1, nconsts))()
        for i, argc in enumerate(argcs):
            self.calls[i].ci.argc = argc
            self.calls[i].ci.index = i
        self.body = CBody()
        b = self.body
        b.location.label = self._label
        b.location.path = self._path
        b.location.first_lineno = lineno
        b.ci_size = len(argcs)
        b.is_size = nconsts
        b.iseq_size = code_size
        b.call_data = ctypes.cast(self.calls, ctypes.POINTER(CCallData))
        b.is_entries = ctypes.cast(self.consts, ctypes.POINTER(CInlineStorage))
        b.type = ISEQ_TYPE_METHOD
        b.iseq_id = iseq_id
        self.iseq = CIseq(ISEQ_FLAGS, 0, ctypes.pointer(self.body), iseq_id)
        #: The address C engines know this method by (``struct pmj_iseq *``).
        self.address = ctypes.addressof(self.iseq)

    def set_calls(self, calls: Sequence[tuple[int, int]]) -> None:
        """Store each call site's ``(callee_id, class_serial)``.  Main thread."""
        for i, (callee_id, serial) in enumerate(calls):
            self.calls[i].cc.callee_id = callee_id
            self.calls[i].cc.class_serial = serial

    def set_consts(self, consts: Sequence[tuple[int, int]]) -> None:
        """Store each inline-storage entry's ``(constant_id, value)``.  Main thread."""
        for i, (constant_id, value) in enumerate(consts):
            self.consts[i].constant_id = constant_id
            self.consts[i].value = value


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


_libc = ctypes.CDLL(None)
_dladdr = _libc.dladdr
_dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
_dladdr.restype = ctypes.c_int
_UNIT_SYMBOL = re.compile(rb"_mjit(\d+)")


def unit_id_at(address: Any) -> int:
    """The unit id of the ``_mjit<id>`` function that starts at ``address``, or -1."""
    info = _DlInfo()
    if not _dladdr(address, ctypes.byref(info)) or info.dli_saddr != address:
        return -1
    m = _UNIT_SYMBOL.fullmatch(info.dli_sname or b"")
    return int(m.group(1)) if m else -1
