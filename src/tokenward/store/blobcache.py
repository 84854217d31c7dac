"""The incremental-scan cache (sources.blobcache.BlobCache) kept in the inventory's scanned_blob table.

One cache per repository (its inventory source): a rescan by any writer of the inventory reads only
blobs not yet scanned there under the same rule set and fingerprint key, and replays the recorded
findings of the others. Rows hold ids and plaintext-free findings only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import UTC, datetime, timedelta

from tokenward.findings import Finding
from tokenward.sources.blobcache import finding_from_record, finding_record
from tokenward.store.inventory import Inventory
from tokenward.store.keys import source_of_repo

FORGET_AFTER = timedelta(days=30)  # this repository's rows of other rule sets older than this are dropped


class InventoryBlobCache:
    """A BlobCache for one repository, backed by the inventory database."""

    def __init__(self, inventory: Inventory, scan_id: str, repo_root: str) -> None:
        self.inventory = inventory
        self.scan_id = scan_id
        self.source_id = source_of_repo(repo_root).source_id

    def scanned(self, ruleset: str, blob_ids: Collection[str]) -> set[str]:
        """Those of blob_ids already scanned in this repository under ruleset."""
        return self.inventory.scanned_blobs(self.source_id, ruleset, blob_ids)

    def findings(self, ruleset: str) -> dict[str, list[Finding]]:
        """Recorded findings by blob id: no plaintext, origin holding only the blob id."""
        return {blob_id: [finding_from_record(line, blob_id) for line in text.splitlines()]
                for blob_id, text in self.inventory.blob_findings(self.source_id, ruleset).items()}

    def record(self, ruleset: str, blob_ids: Iterable[str], findings: Iterable[Finding]) -> None:
        """Remember blob_ids as scanned under ruleset, with their findings (matched by origin.blob_id)."""
        lines: dict[str, list[str]] = defaultdict(list)
        for f in findings:
            if f.origin.blob_id:
                lines[f.origin.blob_id].append(finding_record(f.without_secret()))
        now = datetime.now(UTC)
        rows = [(b, "\n".join(lines[b]) if b in lines else None) for b in set(blob_ids) | set(lines)]
        self.inventory.record_blobs(self.source_id, ruleset, self.scan_id, now, rows,
                                    forget_before=now - FORGET_AFTER)
