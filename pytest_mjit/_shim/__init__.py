"""The compiler shim: a tiny C program that stands where the compiler is, logs every
invocation and injects holds and faults, and its Python controller (``mjit_cc``)."""

from ._build import SHIM_SOURCE, build_shim
from ._control import CompilerShim, Hold, Invocation, parse_log

__all__ = ["SHIM_SOURCE", "build_shim", "CompilerShim", "Hold", "Invocation", "parse_log"]
