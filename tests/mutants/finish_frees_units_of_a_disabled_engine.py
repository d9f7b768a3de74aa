"""finish of an engine its failed header build disabled frees the units it still holds,
though free_iseq, which returns at once on a disabled engine, no longer told it which ISeqs
died: it writes to the body of a queued ISeq that GC freed meanwhile.

Breaks QUEUE-3."""

from . import mutate

create_engine = mutate(__name__, "_lifecycle.py",
                       old="""        if engine.state.worker_stopped:
            join_worker(engine)
        return
""",
                       new="""        if engine.state.worker_stopped:
            join_worker(engine)
        with engine.state.lock:
            free_list(engine, engine.state.unit_queue, close_handle)
        return
""")
