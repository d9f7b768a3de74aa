"""The tmp dir is looked up in TMP before TMPDIR.

Breaks OPT-2."""

from . import mutate

create_engine = mutate(__name__, '_files.py',
                       old=('    for name in ("TMPDIR", "TMP"):\n'),
                       new=('    for name in ("TMP", "TMPDIR"):\n'))
