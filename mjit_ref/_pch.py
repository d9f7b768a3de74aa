"""The precompiled header: building it, and the prelude that makes units use it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._engine import Engine

import enum

GCH_SUFFIX = ".gch"


class PchStatus(enum.Enum):
    NOT_READY = "not_ready"
    FAILED = "failed"
    SUCCESS = "success"


def make_pch(engine: "Engine") -> None:
    """Build the PCH from the host's header; publish the status under the lock and wake
    every ``finish`` waiting for it (C: ``make_pch``).  Worker thread."""
    engine.log.verbose(2, "Creating precompiled header")
    try:
        ok = engine.toolchain.make_pch(engine.host.header_file, engine.pch_file)
    except Exception as exc:  # a broken host or toolchain is a failed PCH, not a dead worker
        engine.log.warning(f"making precompiled header failed: {exc!r}")
        ok = False
    with engine.state.lock:
        if ok:
            engine.state.pch_status = PchStatus.SUCCESS
        else:
            engine.log.warning(
                "Making precompiled header failed on compilation. Stopping MJIT worker...")
            engine.state.pch_status = PchStatus.FAILED
        engine.state.pch_wakeup.notify_all()


def compile_prelude(pch_file: str, uses_include_pch: bool) -> str:
    """The first line of every unit's ``.c``: gcc includes the PCH by its name without
    ``.gch``; clang gets nothing here (it is given ``-include-pch``) (PCH-2)."""
    if uses_include_pch:
        return ""
    name = pch_file[:-len(GCH_SUFFIX)] if pch_file.endswith(GCH_SUFFIX) else pch_file
    if ('"' in name or "\\" in name) and ">" not in name:
        # PCH-7: GCC takes header names literally (no escapes), so the C's escaped form
        # below cannot name such a path; the <...> form can, and still finds the .gch.
        return f"#include <{name}>\n"
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'#include "{escaped}"\n'
