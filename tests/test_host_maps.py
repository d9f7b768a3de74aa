"""The process's mappings: one module parses /proc/self/maps, and everything else asks it."""

from __future__ import annotations

import ctypes
import ctypes.util
import re
from pathlib import Path

from pytest_mjit.host import Region, is_executable, library_at
from pytest_mjit.host._maps import parse_maps

ROOT = Path(__file__).resolve().parent.parent
MAPS_TEXT = """\
55d0c0a00000-55d0c0a21000 r--p 00000000 08:01 131 /usr/bin/python3.11
7f3a10000000-7f3a10001000 r-xp 00001000 00:2a 77 /tmp/a\\012b/_ruby_mjit_p1u2.so (deleted)
7f3a20000000-7f3a20010000 rwxp 00000000 00:00 0
7ffd7e5f0000-7ffd7e5f2000 r-xp 00000000 00:00 0                          [vdso]
"""


def test_parse_maps_decodes_paths_and_marks_deleted_files():
    regions = parse_maps(MAPS_TEXT)
    assert [r.executable for r in regions] == [False, True, True, True]
    lib = regions[1]
    assert lib == Region(0x7F3A10000000, 0x7F3A10001000, "r-xp",
                         "/tmp/a\nb/_ruby_mjit_p1u2.so (deleted)")
    assert lib.deleted and lib.file == "/tmp/a\nb/_ruby_mjit_p1u2.so"
    assert lib.holds(0x7F3A10000000) and not lib.holds(0x7F3A10001000)
    assert regions[2].path == "" and regions[3].file == "[vdso]"
    assert parse_maps(MAPS_TEXT, executable=True) == regions[1:]


def test_library_at_names_the_loaded_library_of_an_address():
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    address = ctypes.cast(libc.getpid, ctypes.c_void_p).value
    assert address is not None and is_executable(address)
    assert "libc" in Path(library_at(address) or "").name
    data = ctypes.create_string_buffer(64)   # heap memory: mapped, not executable
    assert library_at(ctypes.addressof(data)) is None and not is_executable(ctypes.addressof(data))


def test_only_the_maps_module_names_the_maps_file():
    literal = re.compile(r"""["']/proc/[^"'/]*/maps["']""")
    readers = [str(p.relative_to(ROOT)) for d in ("pytest_mjit", "mjit_ref", "conformance",
                                                   "tests", "examples", "bench")
               for p in sorted((ROOT / d).rglob("*.py"))
               if literal.search(p.read_text(errors="replace"))]
    assert readers == ["pytest_mjit/host/_maps.py"], \
        f"read the mappings through pytest_mjit.host.mapped_regions, not in {readers}"
