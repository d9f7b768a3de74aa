"""The stop loop never runs the host's interrupt check, so a pending copy job is not run.

Breaks STOP-5."""

from . import mutate

create_engine = mutate(__name__, '_lifecycle.py',
                       old=('        engine.host.check_ints()\n'
                            '        with engine.state.lock:\n'
                            '            if not engine.state.worker_stopped:\n'),
                       new=('        with engine.state.lock:\n'
                            '            if not engine.state.worker_stopped:\n'))
