"""pause of an already stopped worker returns True instead of False.

Breaks STOP-3."""

from . import mutate

create_engine = mutate(__name__, '_lifecycle.py',
                       old=('    if engine.state.worker_stopped:\n'
                            '        return False\n'
                            '    if wait:'),
                       new=('    if engine.state.worker_stopped:\n'
                            '        return True\n'
                            '    if wait:'))
