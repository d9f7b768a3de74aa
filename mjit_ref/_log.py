"""Verbose and warning lines on stderr, at the levels the C prints them."""

from __future__ import annotations

import sys


class Log:
    """Prints ``verbose(level, ...)`` lines and ``MJIT warning: ...`` lines to stderr."""

    def __init__(self, verbose: int, warnings: bool) -> None:
        self.level = verbose
        self.warnings = warnings

    def verbose(self, level: int, message: str) -> None:
        """Print ``message`` when the verbose option is at least ``level``."""
        if self.level >= level:
            # One write per line, so that lines of two threads never interleave.
            sys.stderr.write(message + "\n")
            sys.stderr.flush()

    def warning(self, message: str) -> None:
        """Print ``MJIT warning: message`` when warnings or verbose are on."""
        if self.warnings or self.level:
            sys.stderr.write("MJIT warning: " + message + "\n")
            sys.stderr.flush()
