"""Messages on stderr: ``verbose`` lines by level and warnings (OPT-4)."""

from __future__ import annotations

import sys

__all__ = ["Log"]


class Log:
    """Prints nothing at verbose 0 unless ``warnings`` is on, and then only warnings."""

    def __init__(self, options) -> None:
        self.level = options.verbose
        self.warnings = options.warnings

    def verbose(self, level: int, message: str) -> None:
        if self.level >= level:
            print(message, file=sys.stderr, flush=True)

    def warning(self, message: str) -> None:
        if self.warnings or self.level:
            print(f"MJIT warning: {message}", file=sys.stderr, flush=True)
