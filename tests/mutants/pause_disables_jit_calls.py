"""pause turns call_p off, so code compiled before the pause is no longer called.

Breaks STOP-6 (and FORK-6: the host pauses around fork)."""

from . import mutate

create_engine = mutate(__name__, '_lifecycle.py',
                       old=('    stop_worker(engine)\n'
                            '    return True\n'
                            '\n'
                            '\n'
                            'def resume'),
                       new=('    stop_worker(engine)\n'
                            '    engine.state.call_p = False\n'
                            '    return True\n'
                            '\n'
                            '\n'
                            'def resume'))
