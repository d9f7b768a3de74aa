"""The gcc prelude names a header path holding a double quote or backslash with backslash
escapes inside #include "...", which GCC does not undo (header names have no escapes).

Breaks PCH-7 (gcc)."""

from . import mutate

create_engine = mutate(__name__, "_pch.py",
                       old="    if ('\"' in name or \"\\\\\" in name) and \">\" not in name:\n",
                       new="    if False:\n")
