"""The engine does not keep the floor of 10 units: a max_cache_size that normalisation
raised to the minimum acts as 1 (as if the raw option were used), so the worker stops
dequeuing after one unit.

Breaks OPT-1."""

from . import mutate

create_engine = mutate(__name__, '_engine.py',
                       old=('        self.state = State(max_cache_size=options.max_cache_size)\n'),
                       new=('        self.state = State(max_cache_size=options.max_cache_size\n'
                            '                           if options.max_cache_size > 10 else 1)\n'))
