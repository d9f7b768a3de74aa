"""save_temps is ignored for a unit's .c and .so: both are removed once the code is loaded.

Breaks COMPILE-8 (and OPT-5)."""

from . import mutate

create_engine = mutate(__name__, "_convert.py",
                       old=("    if not opts.save_temps:\n"
                            "        remove_file(c_file, log)\n"
                            "    if not success:\n"
                            "        log.verbose(2, f\"Failed to generate so: {so_file}\")\n"
                            "        # COMPILE-4: nothing of a failed unit stays (the C keeps its .o for good).\n"
                            "        _discard_outputs(engine, unit, o_file, so_file)\n"
                            "        return NOT_COMPILED\n"
                            "\n"
                            "    address = load_func_from_so(engine, so_file, funcname, unit)\n"
                            "    if not opts.save_temps:\n"),
                       new=("    remove_file(c_file, log)\n"
                            "    if not success:\n"
                            "        log.verbose(2, f\"Failed to generate so: {so_file}\")\n"
                            "        _discard_outputs(engine, unit, o_file, so_file)\n"
                            "        return NOT_COMPILED\n"
                            "\n"
                            "    address = load_func_from_so(engine, so_file, funcname, unit)\n"
                            "    if True:\n"))
