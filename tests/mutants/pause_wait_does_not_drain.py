"""pause(wait=True) stops the worker at once instead of letting it drain the queue.

Breaks STOP-2."""

from . import mutate

create_engine = mutate(__name__, '_lifecycle.py',
                       old=('    if wait:\n'
                            '        # STOP-2'),
                       new=('    if False:\n'
                            '        # STOP-2'))
