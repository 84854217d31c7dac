"""GitHub organisation token listings (REST JSON): fine-grained PATs with access to the organisation
(`GET /orgs/{org}/personal-access-tokens`) and SAML-authorised classic PATs
(`GET /orgs/{org}/credential-authorizations`). A list, or several pages' lists, or {"tokens": [...]}."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokenward.classify import privilege_from_scopes
from tokenward.errors import ImporterError
from tokenward.importers.interface import DeclaredToken, ImportContext, ImportRequest, ImportResult, parse_time
from tokenward.importers.jsonfile import items_of, load_json


def fine_grained_scopes(permissions: dict[str, Any]) -> tuple[str, ...]:
    """{'repository': {'contents': 'write'}} → ('contents:write',)."""
    out = []
    for group in ("organization", "repository", "other"):
        for name, access in sorted((permissions.get(group) or {}).items()):
            out.append(f"{name}:{access}")
    return tuple(out)


def _fine_grained(item: dict[str, Any]) -> DeclaredToken:
    scopes = fine_grained_scopes(item.get("permissions") or {})
    expired = bool(item.get("token_expired"))
    return DeclaredToken(
        origin="github", external_id=f"github:fine-grained:{item.get('token_id') or item.get('id')}",
        provider="github", kind="pat-fine-grained", name=item.get("token_name"),
        owner=(item.get("owner") or {}).get("login"), scopes=scopes, privilege=privilege_from_scopes("github", scopes),
        created_at=parse_time(item.get("access_granted_at")), expires_at=parse_time(item.get("token_expires_at")),
        last_used_at=parse_time(item.get("token_last_used_at")), active=not expired,
        details=(("grant_id", str(item.get("id"))), ("repository_selection", str(item.get("repository_selection")))))


def _classic(item: dict[str, Any]) -> DeclaredToken:
    scopes = tuple(str(s) for s in item.get("scopes") or [])
    last = str(item.get("token_last_eight") or "")
    return DeclaredToken(
        origin="github", external_id=f"github:credential:{item.get('credential_id')}", provider="github",
        kind="pat-classic", name=item.get("authorized_credential_title") or item.get("authorized_credential_note"),
        owner=item.get("login"), scopes=scopes, privilege=privilege_from_scopes("github", scopes),
        created_at=parse_time(item.get("credential_authorized_at")),
        expires_at=parse_time(item.get("authorized_credential_expires_at")),
        last_used_at=parse_time(item.get("credential_accessed_at")), active=True,
        preview=f"ghp_…{last[-4:]}" if len(last) >= 4 else None,
        details=(("credential_type", str(item.get("credential_type"))),))


def import_github_tokens(request: ImportRequest, ctx: ImportContext) -> ImportResult:
    """One record per listed token; items of other credential types (SSH keys) are noted and skipped."""
    path = Path(request.source)
    records, notes = [], []
    for i, item in enumerate(items_of(load_json(path), ("tokens", "credentials"), str(path))):
        if "token_id" in item or "token_name" in item:
            records.append(_fine_grained(item))
        elif "credential_id" in item and "personal access token" in str(item.get("credential_type", "")).lower():
            records.append(_classic(item))
        elif "credential_id" in item:
            notes.append(f"{path}: item {i}: {item.get('credential_type')} skipped (not a token)")
        else:
            raise ImporterError(f"{path}: item {i} is neither a fine-grained PAT nor a credential authorization")
    return ImportResult("github", str(path.absolute()), tuple(records), tuple(notes))
