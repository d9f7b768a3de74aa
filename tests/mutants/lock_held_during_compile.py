"""The worker holds the engine lock while the compiler runs, so GC hooks, free_iseq and the
stop loop block until the compiler exits.

Breaks FAULT-1."""

from . import mutate

create_engine = mutate(__name__, '_convert.py',
                       old=('    success = engine.toolchain.compile_c_to_o(c_file, o_file, engine.pch_file)\n'),
                       new=('    with engine.state.lock:\n'
                            '        success = engine.toolchain.compile_c_to_o(c_file, o_file, engine.pch_file)\n'))
