"""The reporter interface: render a ScanResult to a text stream."""

from __future__ import annotations

from typing import Protocol, TextIO

from tokenward.results import ScanResult


class Reporter(Protocol):
    """Writes one output format."""

    def __call__(self, result: ScanResult, out: TextIO) -> None:
        """Render result to out."""
        ...
