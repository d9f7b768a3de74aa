"""mjit_free_iseq does not clear the copy job's ISeq, so a job pending for a freed ISeq still
copies its caches and the copy counts as a success.

Breaks COPYJOB-4."""

from . import patch

create_engine = patch(__name__, "mjit.c",
                      old=("    if (mjit_copy_job.iseq == iseq) {\n"
                           "        mjit_copy_job.iseq = NULL;\n"
                           "    }\n"),
                      new="")
