"""pause of a disabled engine (finished, or after a failed header build) returns False
instead of raising EngineStateError.

Breaks STOP-3."""

from . import mutate

create_engine = mutate(__name__, '_lifecycle.py',
                       old=('        raise EngineStateError("MJIT is not enabled")\n'
                            '    if engine.state.worker_stopped:\n'),
                       new=('        return False\n'
                            '    if engine.state.worker_stopped:\n'))
