"""Is an address inside executable code mapped into this process (``/proc/self/maps``)?"""

from __future__ import annotations

__all__ = ["executable_ranges", "is_executable", "maps_path"]

MAPS_PATH = "/proc/self/maps"


def maps_path(field: str) -> str:
    """The file name of a maps line's pathname field: the kernel writes a newline in a path
    as ``\\012`` (the only character it escapes there)."""
    return field.replace("\\012", "\n")


def executable_ranges(maps_text: str) -> list[tuple[int, int, str]]:
    """``(start, end, pathname)`` of every mapping with the ``x`` permission in ``maps_text``."""
    ranges = []
    for line in maps_text.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) < 5 or "x" not in fields[1]:
            continue
        start, _, end = fields[0].partition("-")
        ranges.append((int(start, 16), int(end, 16), maps_path(fields[5]) if len(fields) > 5 else ""))
    return ranges


def is_executable(address: int) -> bool:
    """True if ``address`` lies in an executable mapping right now.

    The maps are read on every call: a ``dlclose`` may have unmapped the code since the last."""
    with open(MAPS_PATH) as f:
        text = f.read()
    return any(start <= address < end for start, end, _ in executable_ranges(text))
