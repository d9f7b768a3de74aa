"""stop_worker asks the worker to stop and returns at once, without waiting for its thread to end.

Breaks STOP-1, FINISH-1 and FAULT-1 (pause and finish return while a compiler still runs)."""

from . import mutate

create_engine = mutate(__name__, '_lifecycle.py',
                       old=('        engine.host.check_ints()\n'
                            '        with engine.state.lock:\n'
                            '            if not engine.state.worker_stopped:\n'
                            '                engine.state.client_wakeup.wait(STOP_POLL_SECONDS)\n'
                            '    join_worker(engine)\n'),
                       new=('        engine.host.check_ints()\n'
                            '        break\n'
                            '    engine.state.worker_thread = None\n'))
