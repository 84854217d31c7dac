"""Read what a review needs from the inventory database: discovered tokens, imported records, import runs."""

from __future__ import annotations

from datetime import datetime

from tokenward.importers.declared import import_runs, load_declared
from tokenward.importers.interface import DeclaredToken
from tokenward.policy.gather import Discovered
from tokenward.store import Inventory


def discovered_tokens(inventory: Inventory) -> list[Discovered]:
    """Every inventory token with its public ids and occurrences (through the store's public API)."""
    out = []
    for row in inventory.list_tokens():
        detail = inventory.token_detail(row.token_id)
        out.append(Discovered(detail.token, detail.public_ids, detail.occurrences))
    return out


def review_inputs(inventory: Inventory) -> tuple[list[Discovered], list[DeclaredToken],
                                                 tuple[tuple[str, str, datetime, int], ...]]:
    """Discovered tokens, imported records and the list of imports."""
    return discovered_tokens(inventory), list(load_declared(inventory.engine)), tuple(import_runs(inventory.engine))
