"""Checking what an engine factory returns, once at start-up: an object with the engine's
methods, a name and version that can be printed, and capabilities the harness knows.  The
factory call itself is bounded, so a factory that never returns cannot hang the run."""

from __future__ import annotations

import threading
from typing import Any, Callable

from .contract import CAPABILITIES
from ._deadline import scale
from ._errors import MjitError
from ._text import clean

__all__ = ["REQUIRED_METHODS", "FACTORY_TIMEOUT", "call_bounded", "engine_info", "probe_factory"]

#: Methods every engine has, whatever it claims (DESIGN.md, ``pytest_mjit.Engine``).
REQUIRED_METHODS = ("init", "add_iseq_to_process", "wait", "gc_start_hook", "gc_exit_hook",
                    "free_iseq", "mark", "pause", "resume", "finish", "stats")
#: Seconds (before scaling) a factory gets to return an engine.
FACTORY_TIMEOUT = 30.0


def call_bounded(fn: Callable[[], Any], seconds: float, what: str) -> Any:
    """``fn()`` run on a daemon thread; its result, or ``MjitError`` naming ``what`` if it
    raised or did not return within ``seconds`` (the thread is then abandoned)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # reported below, never lost in the thread
            box["error"] = exc

    thread = threading.Thread(target=run, name=f"mjit-bounded {what}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise MjitError(f"{what} did not return within {seconds:.0f}s")
    if "error" in box:
        exc = box["error"]
        raise MjitError(f"{what} raised {type(exc).__name__}: {clean(exc, 200)}")
    return box["value"]


def _attr(engine: Any, name: str, default: Any) -> Any:
    try:
        return getattr(engine, name, default)
    except Exception as exc:
        raise MjitError(f"reading engine.{name} raised {type(exc).__name__}: "
                        f"{clean(exc, 200)}") from None


def engine_info(engine: Any, spec: str) -> dict[str, Any]:
    """Name, version and capabilities of ``engine``, cleaned; ``MjitError`` naming the first
    thing that makes it unusable."""
    prefix = f"--mjit-engine={clean(spec, 200)}: the factory returned"
    if engine is None or isinstance(engine, (str, bytes, int, float, bool)):
        raise MjitError(f"{prefix} {clean(repr(engine))}, not an engine")
    missing = [m for m in REQUIRED_METHODS if not callable(_attr(engine, m, None))]
    if missing:
        raise MjitError(f"{prefix} a {clean(type(engine).__name__)} without the engine "
                        f"method(s) {', '.join(missing)}")
    caps = _attr(engine, "capabilities", ())
    if isinstance(caps, (str, bytes)) or not _iterable(caps):
        raise MjitError(f"{prefix} an engine whose capabilities are {clean(repr(caps))}; "
                        "expected a set of capability names")
    caps = list(caps)
    unknown = sorted({clean(repr(c)) for c in caps if not isinstance(c, str)
                      or c not in CAPABILITIES})
    if unknown:
        raise MjitError(f"{prefix} an engine claiming unknown capabilities {', '.join(unknown)} "
                        f"(known: {', '.join(sorted(CAPABILITIES))})")
    return dict(name=clean(_attr(engine, "name", spec)),
                version=clean(_attr(engine, "version", "?")), capabilities=sorted(set(caps)))


def _iterable(value: Any) -> bool:
    try:
        iter(value)
    except TypeError:
        return False
    return True


def probe_factory(factory: Callable[[], Any], spec: str) -> dict[str, Any]:
    """Create one engine with ``factory()`` (bounded) and return its checked ``engine_info``."""
    engine = call_bounded(factory, scale(FACTORY_TIMEOUT),
                          f"--mjit-engine={clean(spec, 200)}: the factory")
    return engine_info(engine, spec)
