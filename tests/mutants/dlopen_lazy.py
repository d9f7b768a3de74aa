"""Units' libraries are opened with RTLD_LAZY instead of RTLD_NOW, so a library with an
unresolvable function loads and its code is published (and would fail when called).

Breaks LOAD-1."""

from . import mutate

create_engine = mutate(__name__, "_convert.py",
                       old="    handle = _dl.dlopen(so_file, _dl.RTLD_NOW)\n",
                       new="    handle = _dl.dlopen(so_file, __import__(\"os\").RTLD_LAZY)\n")
