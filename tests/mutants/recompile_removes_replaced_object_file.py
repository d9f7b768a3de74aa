"""recompile deletes the replaced unit's .o at once (no compaction links it again), treating
the unit as its own: in a forked child that deletes the .o of a unit the parent compiled.

Breaks FORK-2."""

from . import mutate

create_engine = mutate(__name__, '_engine.py',
                       old=('                self.state.stale_units.add(unit)\n'),
                       new=('                self.state.stale_units.add(unit)\n'
                            '                if unit.o_file:\n'
                            '                    __import__("os").remove(unit.o_file)\n'
                            '                    unit.o_file = None\n'))
