"""child_after_fork turns call_p off: code compiled before the fork is interpreted in the
child.

Breaks FORK-6."""

from . import mutate

create_engine = mutate(__name__, '_lifecycle.py',
                       old=('    engine.make_sync_primitives()\n'
                            '    engine.worker_thread = None\n'),
                       new=('    engine.make_sync_primitives()\n'
                            '    engine.worker_thread = None\n'
                            '    engine.call_p = False\n'))
