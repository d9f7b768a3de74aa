"""The path handed to clang's -include-pch gets the prelude's backslash escapes, so a tmp dir
holding a double quote or a backslash names a file that does not exist.

Breaks PCH-7 (clang)."""

from . import mutate

create_engine = mutate(__name__, "_toolchain.py",
                       old='            files += ["-include-pch", pch_file]\n',
                       new=('            files += ["-include-pch",\n'
                            '                      pch_file.replace("\\\\", "\\\\\\\\").replace(\'"\', \'\\\\"\')]\n'))
