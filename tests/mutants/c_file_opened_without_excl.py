"""The .c is opened with O_CREAT|O_TRUNC instead of O_EXCL, so a file already at its name is
truncated and used (symlinks are still refused).

Breaks COMPILE-3."""

from . import mutate

create_engine = mutate(__name__, "_files.py",
                       old="_EXCLUSIVE_FLAGS = (os.O_WRONLY | os.O_EXCL | os.O_CREAT | os.O_NOFOLLOW\n",
                       new="_EXCLUSIVE_FLAGS = (os.O_WRONLY | os.O_TRUNC | os.O_CREAT | os.O_NOFOLLOW\n")
