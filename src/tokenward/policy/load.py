"""Read what a review needs from the inventory database: discovered tokens, imported records, import runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tokenward.importers.interface import DeclaredToken
from tokenward.policy.gather import Discovered, components, owner_of, places_of
from tokenward.store import Inventory
from tokenward.store.actions import manually_owned
from tokenward.store.declared import import_runs, load_declared


def discovered_tokens(inventory: Inventory, token_ids: Sequence[str] | None = None) -> list[Discovered]:
    """Every inventory token (or those of token_ids) with its public ids and occurrences."""
    return [Discovered(row, public, tuple(occ)) for row, public, occ in inventory.discovered(token_ids)]


def refresh_owners(inventory: Inventory, token_ids: Sequence[str] | None = None) -> int:
    """Resolve the owner of every token (or of token_ids) as the review does — manifest, CODEOWNERS,
    provider, commit author — and store it, so `inventory list/show` and alerts name the same owner.
    Returns how many owners changed."""
    records = list(load_declared(inventory.engine))
    owners: dict[str, str | None] = {}
    for found, recs, _ in components(discovered_tokens(inventory, token_ids), records):
        owner = owner_of(recs, places_of(found))
        owners.update({d.row.token_id: owner.name if owner else None for d in found})
    for token_id in manually_owned(inventory, list(owners)):  # a person's assignment stands
        del owners[token_id]
    return inventory.set_owners(owners) if owners else 0


def review_inputs(inventory: Inventory) -> tuple[list[Discovered], list[DeclaredToken],
                                                 tuple[tuple[str, str, datetime, int], ...]]:
    """Discovered tokens, imported records and the list of imports."""
    return discovered_tokens(inventory), list(load_declared(inventory.engine)), tuple(import_runs(inventory.engine))
