"""resume reports success without starting a worker: queued units are never compiled.

Breaks STOP-4 and FORK-5 (the parent's unit after a fork)."""

from . import mutate

create_engine = mutate(__name__, '_lifecycle.py',
                       old=('    join_worker(engine)\n'
                            '    if not start_worker(engine):\n'
                            '        raise EngineStateError("Failed to resume MJIT worker")\n'
                            '    return True\n'),
                       new=('    join_worker(engine)\n'
                            '    return True\n'))
