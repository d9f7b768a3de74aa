"""finish neither waits for a running precompiled header build nor stops the worker building
it: it returns while the header compiler still runs.

Breaks PCH-4."""

from . import mutate

create_engine = mutate(__name__, "_lifecycle.py",
                       old=("    with engine.lock:\n"
                            "        # PCH-4: a compiler building the PCH is never abandoned.\n"
                            "        while engine.pch_status is PchStatus.NOT_READY and not engine.worker_stopped:\n"
                            "            engine.log.verbose(3, \"Waiting wakeup from make_pch\")\n"
                            "            engine.pch_wakeup.wait()\n"
                            "    stop_worker(engine)\n"),
                       new=("    if engine.pch_status is PchStatus.NOT_READY:\n"
                            "        engine.stop_worker_p = True  # the worker ends after its build\n"
                            "    else:\n"
                            "        stop_worker(engine)\n"))
