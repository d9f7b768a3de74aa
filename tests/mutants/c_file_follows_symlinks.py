"""The .c is opened with plain O_CREAT|O_TRUNC: an existing file at its name is reused and a
symlink planted there is followed, overwriting its target.

Breaks COMPILE-3."""

from . import mutate

create_engine = mutate(__name__, "_files.py",
                       old="_EXCLUSIVE_FLAGS = (os.O_WRONLY | os.O_EXCL | os.O_CREAT | os.O_NOFOLLOW\n",
                       new="_EXCLUSIVE_FLAGS = (os.O_WRONLY | os.O_TRUNC | os.O_CREAT\n")
