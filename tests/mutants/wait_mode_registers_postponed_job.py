"""In wait mode the worker registers a postponed job for the copy instead of running it
inline.

Breaks COPYJOB-7 (the job only runs because wait() polls interrupts)."""

from . import mutate

create_engine = mutate(__name__, "_copyjob.py",
                       old="        if engine.options.wait:\n",
                       new="        if False:\n")
