"""Run settings from the ``mjit`` options, each also an ini key and an environment variable
(precedence: ini < environment < command line).  Bad values raise ``MjitError`` with one line."""

from __future__ import annotations

import dataclasses
import os
import random
import re
import shutil
import subprocess
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Callable

from . import _clauses
from ._errors import MjitError
from ._loader import load_engine
from ._presets import DEFAULT_PRESET, PRESETS, Preset

__all__ = ["OPTIONS", "Settings", "resolve", "find_compiler", "parse_seed", "read_expect",
           "check_report_path", "SEED_CACHE_KEY"]

SEED_CACHE_KEY = "mjit/seed"

#: name -> help.  Each is ``--mjit-NAME``, ini ``mjit_NAME``, env ``PYTEST_MJIT_NAME``.
OPTIONS = {
    "engine": ("engine to certify: an entry-point name, 'package.module:factory', "
               "'cruby:DIR' (a CRuby checkout) or 'clib:PATH' (a C engine library) (default: ref)"),
    "cc": "C compiler: gcc, clang or a path (default: gcc when present, else clang)",
    "seed": "random seed of the run, or 'last' for the previous run's (default: random)",
    "preset": "quick, default or thorough: Hypothesis examples and deadline scale",
    "report": "write the JSON report to PATH (and a Markdown report beside it)",
    "expect": "expectation file: lines 'CLAUSE-ID: reason' for clauses expected to fail",
    "clauses": "run only tests of clauses matching this glob (comma-separated globs allowed)",
}


def env_name(name: str) -> str:
    return f"PYTEST_MJIT_{name.upper()}"


def raw_value(name: str, cli: Callable[[str], Any], ini: Callable[[str], Any],
              environ: dict[str, str]) -> str | None:
    """The value of option ``name``: command line, else environment, else ini, else None."""
    return value_and_origin(name, cli, ini, environ)[0]


def value_and_origin(name: str, cli: Callable[[str], Any], ini: Callable[[str], Any],
                     environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The value of option ``name`` (``example-db`` is ``mjit_example_db`` in ini and
    ``PYTEST_MJIT_EXAMPLE_DB`` in the environment) and where it came from: ``--mjit-NAME``,
    ``PYTEST_MJIT_NAME`` or ``ini mjit_NAME`` (errors name that origin)."""
    key = name.replace("-", "_")
    value = cli(f"mjit_{key}")
    if value is not None:
        return str(value), f"--mjit-{name}"
    value = environ.get(env_name(key))
    if value:
        return value, env_name(key)
    value = ini(f"mjit_{key}")
    if value not in (None, "", []):
        return str(value), f"ini mjit_{key}"
    return None, f"--mjit-{name}"


#: Options whose ini value is a path, read relative to the ini file (``cc`` only when it
#: names a path, ``example-db`` only when it is not a URL).
PATH_OPTIONS = ("report", "expect", "cc", "example-db")


def config_value(config: Any, name: str) -> tuple[str | None, str]:
    """``value_and_origin`` of option ``name`` for a ``pytest.Config``; a relative path
    given in the ini file is taken from the ini file's directory."""
    value, origin = value_and_origin(name, lambda n: config.getoption(n, None),
                                     config.getini, os.environ)
    inipath = getattr(config, "inipath", None)
    if (value is not None and origin.startswith("ini ") and name in PATH_OPTIONS
            and inipath is not None and not os.path.isabs(value)
            and (name != "cc" or os.sep in value) and "://" not in value):
        value = os.path.join(os.path.dirname(inipath), value)
    return value, origin


def _name_origin(exc: MjitError, origin: Callable[[str], str]) -> MjitError:
    """``exc`` with its leading ``--mjit-NAME`` replaced by where that value came from."""
    match = re.match(r"--mjit-([a-z]+)", str(exc))
    if match is None or match.group(1) not in OPTIONS:
        return exc
    return MjitError(origin(match.group(1)) + str(exc)[match.end():])


@dataclasses.dataclass
class Settings:
    """Resolved settings of the run."""

    engine_spec: str
    factory: Any
    cc: str                 #: absolute path of the real compiler
    cc_family: str | None
    cc_version: str
    seed: int
    preset: Preset
    report: Path | None
    expect: dict[str, str]  #: clause id -> reason
    expect_path: Path | None
    clauses: str | None
    #: why the default engine or compiler is unusable (an explicit choice fails at start-up
    #: instead); raised when a test needs them
    problem: str | None = None


def find_compiler(spec: str | None) -> tuple[str, str | None, str]:
    """(path, family, first line of --version) of the compiler ``spec`` names."""
    from ._options import VERSION_TIMEOUT, detect_cc_family, run_version
    if spec is None:
        path = shutil.which("gcc") or shutil.which("clang")
        if path is None:
            raise MjitError("--mjit-cc: no C compiler found (neither gcc nor clang is on PATH)")
    else:
        path = shutil.which(spec)
        if path is None:
            raise MjitError(f"--mjit-cc={spec}: compiler not found (not on PATH and not an "
                            "executable file)")
    path = os.path.abspath(path)
    try:
        out = run_version(path)
    except subprocess.TimeoutExpired:
        raise MjitError(f"--mjit-cc={spec or path}: '{path} --version' did not answer within "
                        f"{VERSION_TIMEOUT:g}s") from None
    except (OSError, subprocess.SubprocessError) as exc:
        raise MjitError(f"--mjit-cc={spec or path}: cannot run {path} ({exc})") from None
    lines = (out.stdout or out.stderr).strip().splitlines()
    if out.returncode != 0 or not lines:
        raise MjitError(f"--mjit-cc={spec or path}: '{path} --version' failed; not a C compiler")
    return path, detect_cc_family(path), lines[0].strip()


def parse_seed(value: str | None, last: int | None) -> int:
    """The run's seed from ``--mjit-seed`` (None = random, 'last' = ``last``)."""
    if value is None:
        return random.SystemRandom().randrange(2**32)
    text = value.strip()
    if text == "last":
        if last is None:
            raise MjitError("--mjit-seed=last: no seed recorded by a previous run")
        return last
    try:
        seed = int(text, 0)
    except ValueError:
        raise MjitError(f"--mjit-seed={value}: expected a non-negative integer or 'last'") from None
    if seed < 0:
        raise MjitError(f"--mjit-seed={value}: expected a non-negative integer or 'last'")
    return seed


def read_expect(path: str) -> dict[str, str]:
    """Parse an expectation file: ``CLAUSE-ID: reason`` per line, ``#`` comments."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise MjitError(f"--mjit-expect={path}: cannot read ({why})") from None
    expect: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        cid, sep, reason = line.partition(":")
        cid, reason = cid.strip(), reason.strip()
        if not sep or not cid or not reason:
            raise MjitError(f"--mjit-expect={path}:{n}: expected 'CLAUSE-ID: reason'")
        if _clauses.get(cid) is None:
            raise MjitError(f"--mjit-expect={path}:{n}: unknown clause {cid!r}")
        if cid in expect:
            raise MjitError(f"--mjit-expect={path}:{n}: clause {cid} listed twice")
        expect[cid] = reason
    return expect


def check_report_path(path: str) -> Path:
    """``path`` if a report can be written there."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise MjitError(f"--mjit-report={path}: cannot write (it is a directory)")
    if not parent.is_dir():
        raise MjitError(f"--mjit-report={path}: cannot write (no directory {str(parent)!r})")
    target = p if p.exists() else parent
    if not os.access(target, os.W_OK):
        raise MjitError(f"--mjit-report={path}: cannot write (permission denied)")
    return p


def resolve(get: Callable[[str], str | None], last_seed: int | None,
            origin: Callable[[str], str] | None = None) -> Settings:
    """Build the run settings; ``get(name)`` gives an option's raw value or None, and
    ``origin(name)`` where it came from (for errors; default the command-line flag)."""
    try:
        return _resolve(get, last_seed)
    except MjitError as exc:
        if origin is None:
            raise
        raise _name_origin(exc, origin) from None


def _resolve(get: Callable[[str], str | None], last_seed: int | None) -> Settings:
    problem = None
    engine_spec = get("engine")
    try:
        factory = load_engine(engine_spec or "ref")
    except MjitError as exc:
        if engine_spec is not None:
            raise
        factory, problem = None, str(exc)
    engine_spec = engine_spec or "ref"
    try:
        cc, family, version = find_compiler(get("cc"))
    except MjitError as exc:
        if get("cc") is not None:
            raise
        cc, family, version, problem = "cc", None, "none", problem or str(exc)
    if factory is not None and hasattr(factory, "use_compiler") and problem is None:
        factory.use_compiler(cc)    # a C engine is built now, so a build error is one line
    seed = parse_seed(get("seed"), last_seed)
    preset_name = get("preset") or DEFAULT_PRESET
    if preset_name not in PRESETS:
        raise MjitError(f"--mjit-preset={preset_name}: unknown preset (choose "
                        f"{', '.join(PRESETS)})")
    report = get("report")
    expect_path = get("expect")
    clauses = get("clauses")
    if clauses is not None and not _clauses.select(clauses):
        raise MjitError(f"--mjit-clauses={clauses}: matches no clause id")
    return Settings(
        engine_spec=engine_spec, factory=factory, cc=cc, cc_family=family, cc_version=version,
        seed=seed, preset=PRESETS[preset_name],
        report=check_report_path(report) if report else None,
        expect=read_expect(expect_path) if expect_path else {},
        expect_path=Path(expect_path) if expect_path else None, clauses=clauses,
        problem=problem,
    )
