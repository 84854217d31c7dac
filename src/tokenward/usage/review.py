"""What the review (policy) reads from usage monitoring: last use and the scopes actually needed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tokenward.errors import StoreError
from tokenward.usage.scopes import advise_stored


@dataclass(frozen=True)
class StoredUsage:
    """Usage baselines keyed by token id, and every identifier (AWS key id, hashed token, accessor) → token id."""

    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    def _matched(self, keys: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
        ids = {self.aliases.get(k, k) for k in keys}
        return [(t, self.profiles[t]) for t in sorted(ids) if t in self.profiles]

    def last_used(self, keys: tuple[str, ...]) -> datetime | None:
        """When any of these identifiers was last seen in a usage log."""
        seen = [p.get("last_at") or 0.0 for _, p in self._matched(keys)]
        return datetime.fromtimestamp(max(seen), UTC) if seen and max(seen) > 0 else None

    def used_scopes(self, keys: tuple[str, ...]) -> frozenset[str] | None:
        """The minimal scopes (GitHub/GitLab), IAM actions (AWS) or Vault capabilities observed use needed."""
        matched = self._matched(keys)
        if not matched:
            return None
        found: set[str] = set()
        for token_id, profile in matched:
            found.update(advise_stored(token_id, "", profile).suggested)
        return frozenset(found)


def usage_view(db_url: str | None) -> StoredUsage:
    """The usage data stored in this inventory (empty when monitoring never ran there)."""
    from tokenward.store import Inventory
    from tokenward.store.usage import UsageState

    try:
        with Inventory.open(db_url, create=False) as inventory:
            state = UsageState(inventory.engine)
            aliases = {value: token_id for (_, value), token_id in state.idents().items()}
            return StoredUsage(state.profiles(), aliases)
    except StoreError:
        return StoredUsage()
