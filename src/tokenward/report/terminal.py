"""Terminal-safe text: user-controlled strings are shown, never interpreted (no markup, no escape sequences)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

from tokenward.safetext import plain as plain
from tokenward.safetext import visible as visible


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 finding', '2 findings' (many: an irregular plural)."""
    return f"{n} {word if n == 1 else many or word + 's'}"


# Not a terminal (a pipe, a file): nothing is wrapped or cut, so a secret or a path is never truncated.
UNWRAPPED = 1 << 16


def console_for(out: TextIO) -> Console:
    """A Console for out: the terminal's width on a terminal, unbounded lines otherwise; never markup."""
    from rich.console import Console  # rich only when something is shown

    tty = out.isatty() if hasattr(out, "isatty") else False
    width = max(100, Console().width) if tty else UNWRAPPED
    return Console(file=out, width=width, highlight=False, soft_wrap=False, markup=False, emoji=False)
