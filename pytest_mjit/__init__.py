"""pytest-mjit: a conformance harness for background-compiling method JITs.

Public names live here and in the public modules: ``contract`` (the engine protocol),
``testing`` (waits, deadlines, helpers and observers for tests), ``host`` (the VM), ``sync``,
``strategies``, ``machines`` and ``clauses``.  Modules with a leading underscore are private.
"""

from .contract import (CAPABILITIES, Engine, EngineFactory, EngineHost, JitFunc, JitState,
                       is_compiled)
from ._errors import EngineStateError, MjitError
from ._loader import installed_engines, load_engine
from ._options import Options

__version__ = "0.1.0"


def c_include_dir() -> str:
    """The directory holding ``pytest_mjit_engine.h``, the C engine interface (``-I`` it)."""
    from ._cengine import HEADER_DIR
    return HEADER_DIR


__all__ = [
    "CAPABILITIES", "Engine", "EngineFactory", "EngineHost", "EngineStateError", "JitFunc",
    "JitState", "MjitError", "Options", "c_include_dir", "installed_engines", "is_compiled",
    "load_engine",
    "__version__",
]
