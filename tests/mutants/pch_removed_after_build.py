"""The precompiled header is deleted as soon as it is built, so no unit compile can use it.

Breaks PCH-2."""

from . import mutate

create_engine = mutate(__name__, "_pch.py",
                       old=("        if ok:\n"
                            "            engine.state.pch_status = PchStatus.SUCCESS\n"),
                       new=("        if ok:\n"
                            "            __import__(\"os\").remove(engine.pch_file)\n"
                            "            engine.state.pch_status = PchStatus.SUCCESS\n"))
