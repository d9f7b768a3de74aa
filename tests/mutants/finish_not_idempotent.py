"""A second finish (or finish of an engine a failed header build disabled) raises.

Breaks FINISH-4."""

from . import mutate

create_engine = mutate(__name__, '_lifecycle.py',
                       old=('    if not engine.state.enabled:\n'
                            '        # After a failed PCH the worker has already returned: only its thread is left.\n'
                            '        if engine.state.worker_stopped:\n'
                            '            join_worker(engine)\n'
                            '        return\n'),
                       new=('    if not engine.state.enabled:\n'
                            '        raise EngineStateError("MJIT is already finished")\n'))
