"""A unit's .so stays in the tmp dir after it is loaded (until finish) without save_temps.

Breaks COMPILE-8."""

from . import mutate

create_engine = mutate(__name__, "_convert.py",
                       old=("    address = load_func_from_so(engine, so_file, funcname, unit)\n"
                            "    if not opts.save_temps:\n"
                            "        remove_file(so_file, log)\n"),
                       new=("    address = load_func_from_so(engine, so_file, funcname, unit)\n"))
