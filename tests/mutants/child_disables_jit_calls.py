"""child_after_fork turns call_p off: code compiled before the fork is interpreted in the
child.

Breaks FORK-6."""

from . import mutate

create_engine = mutate(__name__, '_lifecycle.py',
                       old=('    engine.state.make_sync_primitives()\n'
                            '    engine.state.worker_thread = None\n'),
                       new=('    engine.state.make_sync_primitives()\n'
                            '    engine.state.worker_thread = None\n'
                            '    engine.state.call_p = False\n'))
