"""finish neither waits for a running precompiled header build nor stops the worker building
it: it returns while the header compiler still runs.

Breaks PCH-4."""

from . import mutate

create_engine = mutate(__name__, "_lifecycle.py",
                       old=("    with engine.state.lock:\n"
                            "        # PCH-4: a compiler building the PCH is never abandoned.\n"
                            "        while engine.state.pch_status is PchStatus.NOT_READY and not engine.state.worker_stopped:\n"
                            "            engine.log.verbose(3, \"Waiting wakeup from make_pch\")\n"
                            "            engine.state.pch_wakeup.wait()\n"
                            "    stop_worker(engine)\n"),
                       new=("    if engine.state.pch_status is PchStatus.NOT_READY:\n"
                            "        engine.state.stop_worker_p = True  # the worker ends after its build\n"
                            "    else:\n"
                            "        stop_worker(engine)\n"))
