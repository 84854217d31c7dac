"""What the review reads from usage monitoring, through one small interface (absent → degrade gracefully).

Usage monitoring (tokenward.usage) is expected to offer `tokenward.usage.review.usage_view(db_url)` returning
an object with this interface; until it does, the review uses importers' last-used dates only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class UsageView(Protocol):
    """Observed use of tokens, keyed by token id or public id (AWS key id, accessor, …)."""

    def last_used(self, keys: tuple[str, ...]) -> datetime | None:
        """When any of these identifiers was last seen in a usage log."""
        ...

    def used_scopes(self, keys: tuple[str, ...]) -> frozenset[str] | None:
        """The scopes/permissions observed in use (None when usage cannot tell)."""
        ...


class NoUsage:
    """The stand-in when usage monitoring is not installed or has no data."""

    def last_used(self, keys: tuple[str, ...]) -> datetime | None:
        """Nothing observed."""
        return None

    def used_scopes(self, keys: tuple[str, ...]) -> frozenset[str] | None:
        """Unknown."""
        return None


def load_usage(db_url: str | None) -> tuple[UsageView, str | None]:
    """The usage view for this inventory (empty when monitoring never ran there), and a note (none today)."""
    from tokenward.usage.review import usage_view  # the usage stage loads only when a review asks for it

    return usage_view(db_url), None
