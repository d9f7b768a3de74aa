"""After a failed header build the worker returns but leaves the engine enabled: queued
methods stay NOT_READY for ever and the engine looks alive.

Breaks FAULT-3, FAULT-4 and PCH-3."""

from . import mutate

create_engine = mutate(__name__, '_worker.py',
                       old=('            with engine.state.lock:\n'
                            '                engine.state.enabled = False\n'
                            '            return\n'),
                       new=('            return\n'))
