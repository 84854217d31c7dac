"""GitLab access token listings (REST JSON): personal (`GET /personal_access_tokens`), project
(`GET /projects/:id/access_tokens`) and group (`GET /groups/:id/access_tokens`) access tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokenward.classify import max_privilege, privilege_from_scopes
from tokenward.errors import ImporterError
from tokenward.importers.interface import DeclaredToken, ImportContext, ImportRequest, ImportResult, parse_time
from tokenward.importers.jsonfile import items_of, load_json

KINDS = {"personal": "pat", "project": "project-access-token", "group": "group-access-token"}
OWNER_LEVEL = 50


def _kind(item: dict[str, Any], forced: str | None) -> str:
    if forced:
        return KINDS[forced]
    resource = str(item.get("resource_type") or "").lower()
    if resource in KINDS:
        return KINDS[resource]
    return "project-access-token" if "access_level" in item else "pat"


def _record(item: dict[str, Any], kind: str) -> DeclaredToken:
    scopes = tuple(str(s) for s in item.get("scopes") or [])
    level = item.get("access_level")
    privilege = max_privilege([privilege_from_scopes("gitlab", scopes),
                               "admin" if isinstance(level, int) and level >= OWNER_LEVEL else None])
    active = bool(item.get("active", True)) and not item.get("revoked")
    details = [("user_id", str(item.get("user_id"))), ("access_level", str(level))]
    if item.get("resource_id") is not None:
        details.append(("resource", f"{item.get('resource_type')}:{item.get('resource_id')}"))
    return DeclaredToken(
        origin="gitlab", external_id=f"gitlab:{kind}:{item.get('id')}", provider="gitlab", kind=kind,
        name=item.get("name"), function=item.get("description") or None, scopes=scopes, privilege=privilege,
        created_at=parse_time(item.get("created_at")), expires_at=parse_time(item.get("expires_at")),
        last_used_at=parse_time(item.get("last_used_at")), active=active, details=tuple(details))


def import_gitlab_tokens(request: ImportRequest, ctx: ImportContext) -> ImportResult:
    """One record per listed token (revoked and expired ones are kept, marked inactive)."""
    path = Path(request.source)
    forced = request.options.get("kind")
    if forced and forced not in KINDS:
        raise ImporterError(f"unknown GitLab token kind {forced!r} (choose from {', '.join(KINDS)})")
    records = []
    for i, item in enumerate(items_of(load_json(path), ("tokens", "access_tokens"), str(path))):
        if "id" not in item or "scopes" not in item:
            raise ImporterError(f"{path}: item {i} is not a GitLab access token (needs id and scopes)")
        records.append(_record(item, _kind(item, forced)))
    return ImportResult("gitlab", str(path.absolute()), tuple(records))
