"""After a failed compile or link the unit's .c is left in the tmp dir.

Breaks COMPILE-4."""

from . import mutate

create_engine = mutate(__name__, "_convert.py",
                       old=("    if not opts.save_temps:\n"
                            "        remove_file(c_file, log)\n"
                            "    if not success:\n"),
                       new=("    if success and not opts.save_temps:\n"
                            "        remove_file(c_file, log)\n"
                            "    if not success:\n"))
