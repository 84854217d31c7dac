"""Every (blob, path, commit) location of a git finding is an occurrence: re-key stored git occurrences.

Before 0021 a git blob's occurrence was keyed by (token, source, blob, ordinal) and kept only the path and
commit that first introduced the blob. From 0021 every path the blob was committed under, and every commit
that put it there (a revert puts it back), is its own occurrence, keyed by (token, source, blob, ordinal,
path, commit). This revision gives each stored git occurrence the key of its own recorded path and commit,
so the next scan updates it instead of adding a duplicate; nothing is deleted (no schema change).

Revision ID: 0021 (after 0020, the live-source cursors)
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

BATCH = 5000


def _digest(*parts: str) -> str:
    # the same function as tokenward.store.writer._digest (kept here: a migration must not change with the code)
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _ordinals(offsets: list[int]) -> dict[int, int]:
    distinct = sorted(set(offsets))
    return {off: (0 if len(distinct) == 1 else distinct.index(off)) for off in distinct}


def upgrade() -> None:
    """Re-key git occurrences that carry a commit to (token, source, blob, ordinal, path, commit)."""
    conn = op.get_bind()
    occ = sa.table("occurrence", *(sa.column(c) for c in ("occurrence_id", "token_id", "source_id", "blob_id",
                                                           "byte_offset", "path", "commit_id")))
    rows = conn.execute(sa.select(occ.c.occurrence_id, occ.c.token_id, occ.c.source_id, occ.c.blob_id,
                                  occ.c.byte_offset, occ.c.path, occ.c.commit_id)
                        .where(occ.c.blob_id.is_not(None), occ.c.commit_id.is_not(None))).all()
    places: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for _, token_id, source_id, blob_id, offset, _, _ in rows:
        places[(token_id, source_id, blob_id)].append(offset)
    ordinals = {place: _ordinals(offsets) for place, offsets in places.items()}
    changes = []
    for old, token_id, source_id, blob_id, offset, path, commit in rows:
        ordinal = ordinals[(token_id, source_id, blob_id)][offset]
        new = _digest("occurrence", token_id, source_id, blob_id, str(ordinal), path, commit)
        if new != old:
            changes.append({"old_id": old, "new_id": new})
    stmt = sa.update(occ).where(occ.c.occurrence_id == sa.bindparam("old_id")).values(
        occurrence_id=sa.bindparam("new_id"))
    for i in range(0, len(changes), BATCH):
        conn.execute(stmt, changes[i:i + BATCH])


def downgrade() -> None:
    """Not supported: the old keys cannot tell a blob's locations apart."""
    raise NotImplementedError("tokenward cannot downgrade past 0021")
