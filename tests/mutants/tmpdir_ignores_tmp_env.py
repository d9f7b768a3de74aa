"""The tmp dir choice never looks at TMP: without a usable TMPDIR it falls back to the system
default.

Breaks OPT-2."""

from . import mutate

create_engine = mutate(__name__, '_files.py',
                       old=('    for name in ("TMPDIR", "TMP"):\n'),
                       new=('    for name in ("TMPDIR",):\n'))
