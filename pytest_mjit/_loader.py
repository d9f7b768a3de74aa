"""Finding an engine factory from ``--mjit-engine=NAME`` or ``package.module:factory``."""

from __future__ import annotations

import importlib
import os
from importlib.metadata import entry_points

from ._errors import MjitError

__all__ = ["ENTRY_POINT_GROUP", "installed_engines", "load_engine"]

ENTRY_POINT_GROUP = "pytest_mjit.engines"
#: ``cruby:DIR`` names a CRuby checkout whose mjit.c is built as a C engine.
PROFILE_PREFIX = "cruby:"
#: ``clib:PATH`` names a shared library that implements ``pytest_mjit_engine.h``.
CLIB_PREFIX = "clib:"


class CLibraryFactory:
    """Makes one ``CEngine`` per host from the C engine library ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self, host, options):
        from ._cengine import CEngine
        return CEngine(self.path, host, options)

    def __repr__(self) -> str:
        return f"CLibraryFactory({self.path!r})"


def _c_library(spec: str) -> CLibraryFactory:
    path = spec[len(CLIB_PREFIX):]
    if not os.path.isfile(path):
        raise MjitError(f"--mjit-engine={spec}: no C engine library at {path!r}")
    return CLibraryFactory(os.path.abspath(path))


def _cruby_profile(spec: str):
    from .cruby import CRubyProfile

    source_dir = spec[len(PROFILE_PREFIX):]
    if not source_dir:
        raise MjitError(f"--mjit-engine={spec}: expected 'cruby:DIR', DIR a CRuby checkout")
    if not os.path.isdir(source_dir):
        raise MjitError(f"--mjit-engine={spec}: {source_dir!r} is not a directory")
    return CRubyProfile(source_dir)


def installed_engines() -> dict[str, str]:
    """Engine names registered in the ``pytest_mjit.engines`` group, with their targets."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_engine(spec: str):
    """Return the engine factory named by ``spec``; raise ``MjitError`` with one clear line.

    ``spec`` is an entry-point name, ``package.module:factory``, ``cruby:DIR`` (a CRuby
    checkout's mjit.c built as a C engine) or ``clib:PATH`` (a C engine library)."""
    if not isinstance(spec, str) or not spec.strip():
        raise MjitError(f"--mjit-engine={spec!r}: expected an engine name or "
                        "'package.module:factory'")
    spec = spec.strip()
    if spec.startswith(PROFILE_PREFIX):
        return _cruby_profile(spec)
    if spec.startswith(CLIB_PREFIX):
        return _c_library(spec)
    if ":" not in spec:
        eps = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
        if spec not in eps:
            names = ", ".join(sorted(eps)) or "none"
            raise MjitError(
                f"--mjit-engine={spec}: no engine named {spec!r} (installed engines: {names}; "
                "or give 'package.module:factory')"
            )
        module_name, _, attr = eps[spec].value.partition(":")
    else:
        module_name, _, attr = spec.partition(":")
        if not module_name or not attr:
            raise MjitError(f"--mjit-engine={spec}: expected 'package.module:factory'")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure is the user's module's fault
        raise MjitError(
            f"--mjit-engine={spec}: cannot import module {module_name!r} "
            f"({type(exc).__name__}: {exc})"
        ) from None
    obj = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise MjitError(
                f"--mjit-engine={spec}: module {module_name!r} has no attribute {attr!r}"
            ) from None
    if not callable(obj):
        raise MjitError(
            f"--mjit-engine={spec}: {module_name}:{attr} is not callable "
            f"(it is a {type(obj).__name__})"
        )
    return obj
