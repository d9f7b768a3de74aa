"""The mappings of this process, read from ``/proc/self/maps``: the one reader of that file.

``psutil.Process().memory_maps()`` reads ``/proc/self/smaps`` instead, which makes the kernel
count pages of every mapping (several times slower), and the host reads the maps on every call
of compiled code; the parse is a few lines.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Region", "mapped_regions", "parse_maps", "is_executable", "library_at"]

MAPS_PATH = "/proc/self/maps"
DELETED = " (deleted)"


@dataclasses.dataclass(frozen=True)
class Region:
    """One mapping: its address range, permissions (``r-xp``) and pathname field ("" for an
    anonymous mapping; ends in " (deleted)" once the file is unlinked)."""

    start: int
    end: int
    perms: str
    path: str

    @property
    def executable(self) -> bool:
        return "x" in self.perms

    @property
    def deleted(self) -> bool:
        return self.path.endswith(DELETED)

    @property
    def file(self) -> str:
        """The pathname without the kernel's " (deleted)" mark."""
        return self.path[: -len(DELETED)] if self.deleted else self.path

    def holds(self, address: int) -> bool:
        return self.start <= address < self.end


def maps_path(field: str) -> str:
    """The file name of a maps line's pathname field: the kernel writes a newline in a path
    as ``\\012`` (the only character it escapes there)."""
    return field.replace("\\012", "\n")


def parse_maps(maps_text: str, executable: bool = False) -> list[Region]:
    """Every mapping listed in ``maps_text`` (the format of ``/proc/<pid>/maps``); only the
    executable ones with ``executable`` (a quarter of them, read on every step and call)."""
    regions = []
    for line in maps_text.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) < 5 or (executable and "x" not in fields[1]):
            continue
        start, _, end = fields[0].partition("-")
        path = maps_path(fields[5]) if len(fields) > 5 else ""
        regions.append(Region(int(start, 16), int(end, 16), fields[1], path))
    return regions


def mapped_regions(executable: bool = False) -> list[Region]:
    """Every mapping of this process right now, or every executable one (a ``dlclose`` may
    unmap code at any time, so callers read again rather than keep the list)."""
    with open(MAPS_PATH) as f:
        return parse_maps(f.read(), executable)


def is_executable(address: int) -> bool:
    """True if ``address`` lies in an executable mapping right now."""
    return any(r.holds(address) for r in mapped_regions(executable=True))


def library_at(address: int) -> str | None:
    """The file (without " (deleted)") whose executable mapping holds ``address`` right now,
    "" for anonymous executable memory, or None when no executable mapping holds it."""
    return next((r.file for r in mapped_regions(executable=True) if r.holds(address)), None)
