"""The worker checks that the unit's ISeq is alive before it waits for GC to end, and trusts
that check after the wait: an ISeq the GC freed meanwhile gets code generated for it.

A window bug: the check and the use sit in two different moments of one critical section
around the GC wait.  Breaks GC-5; the protocol machine finds it as a host violation."""

from . import mutate

create_engine = mutate(__name__, edits=(
    ("_convert.py",
     "            with engine.state.lock:\n                # GC-3: wait until gc_exit_hook.\n",
     "            seen = unit.iseq  # checked before the GC wait, trusted after it\n"
     "            with engine.state.lock:\n                # GC-3: wait until gc_exit_hook.\n"),
    ("_convert.py",
     "                started = unit.iseq is not None\n",
     "                started = seen is not None\n"),
    ("_convert.py",
     "        success, where = _generate(engine, unit, out, funcname)\n",
     "        success, where = _generate(engine, unit, out, funcname, seen)\n"),
    ("_convert.py",
     "def _generate(engine: \"Engine\", unit: Unit, out: Any, funcname: str) -> tuple[bool, str]:",
     "def _generate(engine: \"Engine\", unit: Unit, out: Any, funcname: str,\n"
     "              seen: Any = None) -> tuple[bool, str]:"),
    ("_convert.py",
     "    iseq = unit.iseq\n    where = f\"u{unit.id}\"\n",
     "    iseq = seen\n    where = f\"u{unit.id}\"\n"),
))
