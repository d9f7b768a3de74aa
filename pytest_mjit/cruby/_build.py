"""Building a CRuby checkout's ``mjit.c`` (with its ``mjit_worker.c``) unmodified into a
pytest-mjit C engine, once per content hash."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .._cengine import HEADER_DIR
from .._errors import MjitError

__all__ = ["SOURCES", "COMPAT_DIR", "GLUE", "cache_root", "build_engine", "ruby_version"]

#: The files of the checkout the engine is built from, verbatim.
SOURCES = ("mjit.c", "mjit_worker.c", "mjit.h")
_HERE = Path(__file__).resolve().parent
COMPAT_DIR = _HERE / "include"
GLUE = _HERE / "pmj_cruby.c"
#: Seconds one build may take.
BUILD_TIMEOUT = 300


def cache_root() -> Path:
    """``$PYTEST_MJIT_CACHE``, else ``$XDG_CACHE_HOME/pytest-mjit``, else ``~/.cache/...``."""
    explicit = os.environ.get("PYTEST_MJIT_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pytest-mjit"


def ruby_version(source_dir: Path) -> str:
    """RUBY_VERSION from the checkout's version header, or the directory's ``X.Y.Z`` suffix."""
    for header in ("include/ruby/version.h", "version.h"):
        try:
            text = (source_dir / header).read_text(errors="replace")
        except OSError:
            continue
        m = re.search(r'#\s*define\s+RUBY_VERSION\s+"([^"]+)"', text)
        if m:
            return m.group(1)
        parts = [re.search(rf"#\s*define\s+RUBY_API_VERSION_{k}\s+(\d+)", text)
                 for k in ("MAJOR", "MINOR", "TEENY")]
        if all(parts):
            return ".".join(p.group(1) for p in parts if p)
    m = re.search(r"(\d+\.\d+\.\d+)$", source_dir.name)
    return m.group(1) if m else "unknown"


def _inputs(source_dir: Path) -> dict[str, bytes]:
    files = {}
    for name in SOURCES:
        path = source_dir / name
        try:
            files["src/" + name] = path.read_bytes()
        except FileNotFoundError:
            raise MjitError(f"cruby:{source_dir}: {name} not found there (a CRuby 2.7 "
                            "checkout has mjit.c, mjit_worker.c and mjit.h)") from None
        except OSError as exc:
            raise MjitError(f"cruby:{source_dir}: cannot read {name} ({exc.strerror})") from None
    for path in sorted(COMPAT_DIR.rglob("*.h")):
        files["compat/" + path.relative_to(COMPAT_DIR).as_posix()] = path.read_bytes()
    files["glue/pmj_cruby.c"] = GLUE.read_bytes()
    files["glue/pytest_mjit_engine.h"] = Path(HEADER_DIR, "pytest_mjit_engine.h").read_bytes()
    files["build/_build.py"] = Path(__file__).read_bytes()    # the build command lives here
    return files


def _compiler_identity(cc: str) -> str:
    path = shutil.which(cc)
    if path is None:
        raise MjitError(f"cruby: cannot build the engine: compiler {cc!r} not found")
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30,
                             check=False).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise MjitError(f"cruby: cannot run compiler {cc!r} ({exc})") from None
    return path + "\n" + out


def _first_error(output: str) -> str:
    """The line that names what is missing: the compiler's first error, or the linker's
    first undefined reference."""
    for line in output.splitlines():
        if "error:" in line or "undefined reference" in line:
            return line.strip()
    lines = [ln for ln in output.splitlines() if ln.strip()]
    return lines[0].strip() if lines else "the compiler failed without a message"


def build_engine(source_dir: str | os.PathLike, cc: str) -> Path:
    """The engine library for ``source_dir`` built with ``cc``; built on first use and cached
    by a hash of every input.  Raises ``MjitError`` naming the first missing piece."""
    src = Path(source_dir).resolve()
    if not src.is_dir():
        raise MjitError(f"cruby:{source_dir}: not a directory")
    files = _inputs(src)
    version = ruby_version(src)
    digest = hashlib.sha256()
    for name, data in sorted(files.items()):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    digest.update(_compiler_identity(cc).encode() + version.encode())
    key = digest.hexdigest()[:24]
    target = cache_root() / "cruby" / key / "engine.so"
    if target.is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="build-", dir=target.parent))
    except OSError as exc:
        raise MjitError(f"cruby: cannot write the build cache {target.parent} "
                        f"({exc.strerror}); set PYTEST_MJIT_CACHE to a writable directory"
                        ) from None
    try:
        (work / "src").mkdir()
        for name in SOURCES:
            (work / "src" / name).write_bytes(files["src/" + name])
        shutil.copy(GLUE, work / "src" / "pmj_cruby.c")
        argv = [cc, "-std=gnu11", "-O2", "-g", "-fPIC", "-shared", "-pthread",
                "-Wl,-Bsymbolic", "-Wl,--no-undefined",
                "-Werror=implicit-function-declaration", f"-DPMJ_CRUBY_VERSION=\"{version}\"",
                f"-I{COMPAT_DIR}", f"-I{HEADER_DIR}", "-o", str(work / "engine.so"),
                str(work / "src" / "pmj_cruby.c"), "-ldl"]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise MjitError(f"cruby:{source_dir}: the build took over {BUILD_TIMEOUT}s") from None
        if proc.returncode != 0:
            raise MjitError(f"cruby:{source_dir} does not build with {cc}: "
                            f"{_first_error(proc.stderr + proc.stdout)}")
        os.replace(work / "engine.so", target)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)
