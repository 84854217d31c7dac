"""A Review as plain JSON-ready dicts, shared by the JSON, Markdown and HTML review renderers."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from tokenward.policy.model import Place, Review, TokenView, Violation

SCHEMA_VERSION = 1


def when(value: datetime | None) -> str | None:
    """ISO 8601 UTC with a Z, or None."""
    return value.isoformat().replace("+00:00", "Z") if value else None


def place_record(p: Place) -> dict[str, Any]:
    """One occurrence."""
    return {"where": p.where, "source": p.source, "path": p.path, "line": p.line, "commit": p.commit,
            "author": p.author, "committed_at": when(p.committed_at), "in_head": p.in_head}


def token_record(t: TokenView) -> dict[str, Any]:
    """One token's review record (identifiers, classification, owner, exposure; never a value)."""
    d = t.declared
    return {
        "key": t.key, "token_id": t.token_id, "provider": t.provider, "kind": t.kind, "preview": t.preview,
        "label": t.label, "origins": list(t.origins), "status": t.status,
        "owner": {"name": t.owner.name, "basis": t.owner.basis, "evidence": t.owner.evidence} if t.owner else None,
        "environment": t.environment, "privilege": t.privilege, "privilege_basis": t.privilege_basis,
        "scopes": list(t.scopes), "created_at": when(t.created_at), "first_seen": when(t.first_seen),
        "expires_at": when(t.expires_at), "last_used_at": when(t.last_used_at), "age_days": t.age_days,
        "active": t.active, "active_basis": t.active_basis, "services": list(t.services),
        "environments": list(t.environments), "storage": list(t.storage), "joined_on": list(t.joined_on),
        "exposure": {"leaked": t.exposure.leaked, "in_head": t.exposure.in_head,
                     "history_only": t.exposure.history_only, "public": t.exposure.public,
                     "places": list(t.exposure.places)},
        "declared": None if d is None else {
            "name": d.name, "service": d.service, "function": d.function, "purpose": d.purpose,
            "allowed_scopes": list(d.allowed_scopes) if d.allowed_scopes is not None else None,
            "max_age_days": d.max_age_days, "storage": d.storage, "line": d.line},
        "places": [place_record(p) for p in t.places],
    }


def violation_record(v: Violation) -> dict[str, Any]:
    """One violation."""
    rec = asdict(v)
    rec["evidence"] = list(v.evidence)
    return rec


def review_document(review: Review) -> dict[str, Any]:
    """The whole review as one JSON document."""
    return {
        "tokenward": {"schema_version": SCHEMA_VERSION, "tool_version": review.tool_version, "kind": "review"},
        "generated_at": when(review.generated_at), "policy": review.policy, "database": review.database,
        "summary": asdict(review.summary),
        "imports": [{"origin": o, "source": s, "imported_at": when(at), "records": n}
                    for o, s, at, n in review.imports],
        "notes": list(review.notes),
        "violations": [violation_record(v) for v in review.violations],
        "tokens": [token_record(t) for t in review.tokens],
    }
