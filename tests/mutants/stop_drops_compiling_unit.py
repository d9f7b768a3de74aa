"""A unit that finishes compiling while the worker is being stopped is published as
NOT_COMPILED (its code thrown away) and never compiled again.

Breaks FORK-5."""

from . import mutate

create_engine = mutate(__name__, '_worker.py',
                       old=('    with engine.state.lock:\n'
                            '        # GC-4: never touch an ISeq while GC runs.\n'),
                       new=('    if engine.state.stop_worker_p:\n'
                            '        func = JitState.NOT_COMPILED\n'
                            '    with engine.state.lock:\n'
                            '        # GC-4: never touch an ISeq while GC runs.\n'))
