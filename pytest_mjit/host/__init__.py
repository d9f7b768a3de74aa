"""The host VM the harness runs engines against (docs/host.md)."""

from ._bytecode import Body, CallCache, InlineStorage, Insn, ISeq, Location, wrap64
from ._events import Event, EVENT_KINDS
from ._fork import ForkResult
from ._gates import Gate, GATE_POINTS
from ._header import HEADER_NAME, header_text, write_header
from ._maps import Region, is_executable, library_at, mapped_regions
from ._snapshot import CachedCall, CachedConst
from ._vm import DEFAULT_STEP_LIMIT, MAX_CALL_DEPTH, Host

__all__ = [
    "Host", "ISeq", "Insn", "Location", "Body", "CallCache", "InlineStorage", "Event",
    "EVENT_KINDS", "ForkResult", "Gate", "GATE_POINTS", "CachedCall", "CachedConst",
    "HEADER_NAME", "header_text", "write_header", "wrap64", "DEFAULT_STEP_LIMIT",
    "MAX_CALL_DEPTH", "is_executable", "Region", "mapped_regions",
    "library_at",
]
