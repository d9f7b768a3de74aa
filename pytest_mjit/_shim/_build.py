"""Building the shim binary once per session (cached by source hash and compiler)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

from .._errors import MjitError

__all__ = ["SHIM_SOURCE", "build_shim"]

SHIM_SOURCE = Path(__file__).with_name("shim.c")


def build_shim(real_cc: str, out_dir: str | os.PathLike) -> Path:
    """Compile ``shim.c`` with ``real_cc`` into ``out_dir`` unless a binary of the same source
    and compiler is already there; return the binary's path."""
    source = SHIM_SOURCE.read_bytes()
    digest = hashlib.sha256(source + b"\0" + os.fsencode(real_cc)).hexdigest()[:16]
    out_dir = Path(out_dir)
    binary = out_dir / f"mjit-shim-{digest}"
    if binary.exists():
        return binary
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".shim-", dir=out_dir)
    os.close(fd)
    try:
        proc = subprocess.run([real_cc, "-O2", "-o", tmp, str(SHIM_SOURCE)],
                              capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            first = (proc.stderr.strip().splitlines() or ["no output"])[0]
            raise MjitError(f"cannot build the compiler shim with {real_cc}: {first}")
        os.replace(tmp, binary)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return binary
