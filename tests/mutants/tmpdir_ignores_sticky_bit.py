"""The tmp dir check accepts a world-writable directory without the sticky bit.

Breaks OPT-2."""

from . import mutate

create_engine = mutate(__name__, '_files.py',
                       old=('    if st.st_mode & stat.S_IWOTH and not st.st_mode & stat.S_ISVTX:\n'
                            '        return False\n'),
                       new=(''))
