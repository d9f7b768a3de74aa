"""When the re-check after the GC wait finds the unit's ISeq freed, the worker gives the unit up
but leaves its .c file in the tmp dir.

Breaks GC-5 (the freed ISeq's unit leaves a file behind)."""

from . import patch

create_engine = patch(__name__, "mjit_worker.c",
                      old=("    if (unit->iseq == NULL) {\n"
                           "        fclose(f);\n"
                           "        if (!mjit_opts.save_temps)\n"
                           "            remove_file(c_file);\n"),
                      new=("    if (unit->iseq == NULL) {\n"
                           "        fclose(f);\n"))
