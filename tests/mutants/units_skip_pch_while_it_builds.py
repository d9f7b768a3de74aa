"""The header is precompiled in a thread of its own while the worker goes on compiling:
units queued before the build ends compile with the plain header instead of waiting.

Breaks PCH-1."""

from . import mutate

create_engine = mutate(__name__, edits=(
    ("_worker.py",
     "            make_pch(engine)  # PCH-1: before any unit\n",
     "            __import__(\"threading\").Thread(target=make_pch, args=(engine,),\n"
     "                                           daemon=True).start()\n"),
    ("_convert.py",
     "            out.write(compile_prelude(engine.pch_file, engine.toolchain.uses_include_pch))\n",
     "            use_pch = engine.state.pch_status.name == \"SUCCESS\"\n"
     "            out.write(compile_prelude(engine.pch_file, engine.toolchain.uses_include_pch)\n"
     "                      if use_pch else f'#include \"{engine.host.header_file}\"\\n')\n"),
    ("_convert.py",
     "engine.toolchain.compile_c_to_o(c_file, o_file, engine.pch_file)",
     "engine.toolchain.compile_c_to_o(c_file, o_file, engine.pch_file if use_pch else None)"),
    ("_toolchain.py",
     "        if self.uses_include_pch:\n",
     "        if self.uses_include_pch and pch_file:\n"),
))
