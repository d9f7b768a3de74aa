"""Making text that comes from an engine safe to print: one line, printable, bounded, and in
Markdown without markup of its own (an engine's name must never forge a certificate line)."""

from __future__ import annotations

import re

__all__ = ["clean", "markdown_text", "MAX_LENGTH", "REASON_LENGTH"]

MAX_LENGTH = 80
#: Characters of a failure reason kept in reports.
REASON_LENGTH = 300
_UNPRINTABLE = re.compile(r"[^\x20-\x7e\u00a0-\U0010ffff]|[\u2028\u2029\u200b-\u200f\u202a-\u202e]")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>()#+\-!|~])")


def clean(value: object, limit: int = MAX_LENGTH) -> str:
    """``str(value)`` on one line: every control or unprintable character is shown as its
    ``\\x..``/``\\u....`` escape, and text past ``limit`` characters is cut with ``...``."""
    try:
        text = str(value)
    except Exception as exc:  # an engine's __str__ may raise
        text = f"<unprintable {type(value).__name__}: {type(exc).__name__}>"
    text = _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def markdown_text(value: object, limit: int = MAX_LENGTH) -> str:
    """``clean(value)`` with Markdown's special characters escaped."""
    return _MARKDOWN.sub(r"\\\1", clean(value, limit))
