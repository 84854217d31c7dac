"""User-controlled text made safe to show on a terminal: control and invisible formatting characters written
as escapes, never interpreted. A module of its own (not in report/) so the CLI's plumbing can use it without
importing every reporter and the scanner with them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    from rich.text import Text  # rich only when something is shown: a quiet scan never imports it

    return Text(visible(value), style=style)
