"""xdist workers that an engine kills: the controller replaces them for as long as each death
takes a test with it, and tells in the crash report the engine's last words (the end of what
the test printed before the process died, kept by the worker's watchdog).

The controller's session dir holds the words: ``words-<worker id>`` (see
``Watchdog.leave_last_words``)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from ._deadline import DeadlineExceeded, wait_for
from ._results import exit_description
from ._text import clean

__all__ = ["RUN_DIR", "configure_node", "configure_worker", "last_words", "death",
           "spare_restart"]

#: workerinput key: the controller's session dir.
RUN_DIR = "mjit_run_dir"
#: Seconds (before scaling) the controller waits for a dead worker's watchdog to write.
WORDS_WAIT = 5.0
#: Characters of the last words kept in a crash reason.
WORDS_LENGTH = 200


def _words_file(run_dir: str, worker: str) -> Path:
    return Path(run_dir) / f"words-{worker}"


def configure_node(node, run_dir: Path) -> None:
    """Controller: tell a new worker where to leave its last words."""
    node.workerinput[RUN_DIR] = str(run_dir)


def configure_worker(config: pytest.Config, watchdog) -> str | None:
    """Worker: have the watchdog write the last words where the controller looks; the
    controller's session dir (shared by the run's processes), or None outside xdist."""
    workerinput = getattr(config, "workerinput", {})
    run_dir = workerinput.get(RUN_DIR)
    if run_dir is not None:
        watchdog.leave_last_words(str(_words_file(run_dir, workerinput["workerid"])))
    return run_dir


def last_words(run_dir: Path, worker: str | None) -> str:
    """The end of what worker ``worker`` printed in its last test phase, on one line
    ("" when it said nothing or had no watchdog)."""
    if worker is None:
        return ""
    path = _words_file(str(run_dir), worker)
    pending = path.with_name(path.name + ".pending")
    with contextlib.suppress(DeadlineExceeded):     # words not written by then: none
        wait_for(lambda: not pending.exists(), WORDS_WAIT, "a dead worker's last words",
                 poll=0.02)
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    tail = " | ".join(lines[-3:])
    if len(tail) > WORDS_LENGTH:
        tail = "..." + tail[-(WORDS_LENGTH - 3):]
    return clean(tail, WORDS_LENGTH)


def death(run_dir: Path, worker: str | None, status: int | None) -> str:
    """How worker ``worker`` died: ``exit status 7; last words: ...``."""
    words = last_words(run_dir, worker)
    return exit_description(status) + (f"; last words: {words}" if words else "")


def spare_restart(config: pytest.Config) -> None:
    """A worker died in a test: that test is its FAIL, and the death does not count toward
    xdist's limit of restarts (kept against deaths that take no test, as in collection), so
    that every test still runs.  Called before xdist counts the death.  A limit the user gave
    (``--max-worker-restart``) stands."""
    if config.getoption("maxworkerrestart", None) is not None:
        return
    dsession = config.pluginmanager.getplugin("dsession")
    limit = getattr(dsession, "_max_worker_restart", None)
    if isinstance(limit, int):
        dsession._max_worker_restart = limit + 1
