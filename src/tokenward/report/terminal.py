"""Terminal-safe text: user-controlled strings are shown, never interpreted (no markup, no escape sequences)."""

from __future__ import annotations

import re
from typing import TextIO

from rich.console import Console
from rich.text import Text

# C0 controls (tab and newline included: one value is one line), DEL, C1 controls, and the invisible
# formatting characters that reorder or hide text (bidi overrides and isolates, zero-width, line
# separators, BOM).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    if ch in _NAMED:
        return _NAMED[ch]
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def visible(value: object) -> str:
    """str(value) with every control or invisible formatting character written as an escape (`\\x1b`)."""
    return _CONTROL.sub(_escape, str(value))


def plain(value: object, style: str = "") -> Text:
    """A rich Text of a user-controlled value: never parsed as markup, control characters made visible."""
    return Text(visible(value), style=style)


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 finding', '2 findings' (many: an irregular plural)."""
    return f"{n} {word if n == 1 else many or word + 's'}"


# Not a terminal (a pipe, a file): nothing is wrapped or cut, so a secret or a path is never truncated.
UNWRAPPED = 1 << 16


def console_for(out: TextIO) -> Console:
    """A Console for out: the terminal's width on a terminal, unbounded lines otherwise; never markup."""
    tty = out.isatty() if hasattr(out, "isatty") else False
    width = max(100, Console().width) if tty else UNWRAPPED
    return Console(file=out, width=width, highlight=False, soft_wrap=False, markup=False, emoji=False)
