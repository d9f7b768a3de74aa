"""The precompiled header is built, but units include the plain header instead (gcc) and
get no -include-pch (clang): every unit compiles, only slower.

Breaks PCH-2."""

from . import mutate

create_engine = mutate(__name__, edits=(
    ("_convert.py",
     "            out.write(compile_prelude(engine.pch_file, engine.toolchain.uses_include_pch))\n",
     "            out.write(f'#include \"{engine.host.header_file}\"\\n')\n"),
    ("_toolchain.py",
     "        if self.uses_include_pch:\n"
     "            files += [\"-include-pch\", pch_file]\n",
     ""),
))
