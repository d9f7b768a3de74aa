"""The worker starts the precompiled header build in another thread and goes on compiling
units at once, before the header exists.

Breaks PCH-1."""

from . import mutate

create_engine = mutate(__name__, "_worker.py",
                       old="            make_pch(engine)  # PCH-1: before any unit\n",
                       new=("            __import__(\"threading\").Thread(target=make_pch, args=(engine,),\n"
                            "                                           daemon=True).start()\n"))
