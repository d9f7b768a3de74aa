"""The worker waits for the copy job even when the host refused to register it.

Breaks COPYJOB-8: the unit stays NOT_READY until the worker is stopped."""

from . import mutate

create_engine = mutate(__name__, "_copyjob.py",
                       old="elif engine.host.register_postponed_job(lambda data: copy_job_handler(engine, data), job):\n",
                       new="elif engine.host.register_postponed_job(lambda data: copy_job_handler(engine, data), job) or True:\n")
