"""Join the inventory (discovered tokens) with imported records into one TokenView per token."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tokenward.classify import (
    age_days,
    environment_hint,
    exposure,
    max_privilege,
    normalise_environment,
    privilege_from_kind,
    privilege_from_scopes,
    where_it_lives,
)
from tokenward.importers.interface import DeclaredToken
from tokenward.owners import Owner, OwnerRule, codeowner, map_owner
from tokenward.policy.model import Place, TokenView
from tokenward.policy.usage import NoUsage, UsageView
from tokenward.store.records import OccurrenceRow, TokenRow


@dataclass(frozen=True)
class Discovered:
    """One inventory token with its public ids and occurrences."""

    row: TokenRow
    public_ids: tuple[tuple[str, str], ...]
    occurrences: tuple[OccurrenceRow, ...]


@dataclass(frozen=True)
class GatherOptions:
    """Review inputs beyond the inventory: extra CODEOWNERS rules, public sources, usage and the clock."""

    now: datetime
    codeowners: tuple[OwnerRule, ...] = ()
    public_sources: tuple[str, ...] = ()
    usage: UsageView = field(default_factory=NoUsage)
    # token_id -> (when, verdict) of the newest `tokenward verify` of the token (store/verification.py)
    verdicts: Mapping[str, tuple[datetime, Mapping[str, Any]]] = field(default_factory=dict)


class _Union:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def _keys(d: Discovered | DeclaredToken) -> list[str]:
    if isinstance(d, Discovered):
        return [f"tid:{d.row.token_id}", *(f"pub:{v}" for _, v in d.public_ids)]
    keys = [f"ext:{d.external_id}", *(f"pub:{v}" for _, v in d.public_ids), *(f"ext:{x}" for x in d.links)]
    return keys + ([f"tid:{d.token_id}"] if d.token_id else [])


def _node(d: Discovered | DeclaredToken) -> str:
    return f"tok:{d.row.token_id}" if isinstance(d, Discovered) else f"rec:{d.origin}:{d.external_id}"


def _suffix_joins(items: Sequence[Discovered | DeclaredToken], union: _Union, joined: dict[str, str]) -> None:
    """Join a provider record that only shows the token's last characters to the one leaked token ending so."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for d in items:
        if isinstance(d, Discovered) and "…" in d.row.preview:
            found[(d.row.provider, d.row.preview)].append(_node(d))
    for d in items:
        if isinstance(d, DeclaredToken) and d.preview and not d.token_id and d.origin in ("github",):
            hits = found.get((d.provider, d.preview), [])
            if len(hits) == 1:
                union.join(_node(d), hits[0])
                joined[_node(d)] = "last 4 characters (provider listing)"


def components(discovered: Iterable[Discovered], records: Iterable[DeclaredToken]
               ) -> list[tuple[list[Discovered], list[DeclaredToken], tuple[str, ...]]]:
    """Groups of discovered tokens and records that are the same token (shared id, public id or link)."""
    items: list[Discovered | DeclaredToken] = [*discovered, *records]
    union = _Union()
    first: dict[str, str] = {}
    joined: dict[str, str] = {}
    for d in items:
        node = union.find(_node(d))
        for key in _keys(d):
            if key in first:
                union.join(node, first[key])
                joined[_node(d)] = key.split(":", 1)[0]
            else:
                first[key] = node
    _suffix_joins(items, union, joined)
    groups: dict[str, tuple[list[Discovered], list[DeclaredToken], set[str]]] = {}
    for d in items:
        g = groups.setdefault(union.find(_node(d)), ([], [], set()))
        (g[0] if isinstance(d, Discovered) else g[1]).append(d)  # type: ignore[arg-type]
        if _node(d) in joined:
            g[2].add(JOIN_NAMES.get(joined[_node(d)], joined[_node(d)]))
    return [(a, b, tuple(sorted(c))) for a, b, c in groups.values()]


JOIN_NAMES = {"tid": "token id", "pub": "public id", "ext": "provider id"}


def places_of(discovered: Sequence[Discovered]) -> tuple[Place, ...]:
    """Every place a group of discovered tokens occurs, oldest commit first."""
    out = [Place(where_it_lives(o.origin_kind, o.path), o.source, o.path, o.line, o.commit_id, o.author,
                 o.committed_at, o.in_head) for d in discovered for o in d.occurrences]
    return tuple(sorted(out, key=lambda p: (p.committed_at is None, p.committed_at or datetime.max.astimezone(),
                                            p.source, p.path, p.line)))


def _owner(records: Sequence[DeclaredToken], places: Sequence[Place], opts: GatherOptions) -> Owner | None:
    return owner_of(records, places, opts.codeowners)


def owner_of(records: Sequence[DeclaredToken], places: Sequence[Place],
             codeowners: tuple[OwnerRule, ...] = ()) -> Owner | None:
    """The one owner resolution (review, inventory and alerts): manifest > CODEOWNERS > provider > commit author."""
    manifest = next((r for r in records if r.origin == "manifest" and r.owner), None)
    where = f"{manifest.name} in tokens.yaml line {manifest.line}" if manifest else None
    code = next((o for p in places if (o := codeowner(p.source, p.path, codeowners))), None)
    provider = next((r.owner for r in records if r.origin != "manifest" and r.owner), None)
    first = next((p for p in places if p.author and p.commit), None)
    author = (first.author or "", first.commit or "") if first else None
    return map_owner(manifest.owner if manifest else None, where, code, provider, author)


def _privilege(rows: Sequence[TokenRow], records: Sequence[DeclaredToken]) -> tuple[str | None, str | None]:
    candidates: list[tuple[str | None, str]] = []
    candidates += [(r.privilege, f"token format ({r.provider} {r.kind})") for r in rows]
    candidates += [(privilege_from_kind(r.provider, r.kind), f"token kind ({r.provider} {r.kind})") for r in rows]
    candidates += [(r.privilege, f"{r.origin} data" + (f" (scopes: {', '.join(r.scopes)})" if r.scopes else ""))
                   for r in records if r.origin != "manifest"]
    best = max_privilege(p for p, _ in candidates)
    return best, next((why for p, why in candidates if p == best), None)


def _verified(token_id: str | None, opts: GatherOptions) -> tuple[bool | None, str | None, tuple[str, ...]]:
    """(active, basis, granted scopes) from the newest live/invalid verification; unknown says nothing."""
    at, verdict = opts.verdicts.get(token_id or "", (None, {}))
    status = verdict.get("status")
    if at is None or status not in ("live", "invalid"):
        return None, None, ()
    basis = f"verified {status} {at:%Y-%m-%d %H:%M} UTC"
    return status == "live", basis, tuple(str(s) for s in verdict.get("scopes") or ())


def _active(rows: Sequence[TokenRow], records: Sequence[DeclaredToken]) -> tuple[bool | None, str | None]:
    said = [(r.active, r.origin) for r in records if r.active is not None]
    if any(a for a, _ in said):
        return True, next(o for a, o in said if a)
    if said:
        return False, said[0][1]
    if any(r.status in ("revoked", "rotated") for r in rows):
        return False, "triage status"
    return None, None


def _min(values: Iterable[datetime | None]) -> datetime | None:
    return min((v for v in values if v is not None), default=None)


def _max(values: Iterable[datetime | None]) -> datetime | None:
    return max((v for v in values if v is not None), default=None)


def _environments(rows: Sequence[TokenRow], records: Sequence[DeclaredToken], places: Sequence[Place]) -> list[str]:
    envs = [normalise_environment(r.environment) for r in records]
    envs += [environment_hint(p.path) for p in places if p.where != "test-fixture"]
    return sorted({e for e in envs if e})


def _identity(rows: Sequence[TokenRow], records: Sequence[DeclaredToken]) -> tuple[str, str | None, str, str, str, str]:
    """(key, token_id, provider, kind, preview, label) of a group."""
    row = rows[0] if rows else None
    manifest = next((r for r in records if r.origin == "manifest"), None)
    rec = manifest or (records[0] if records else None)
    token_id = row.token_id if row else next((r.token_id for r in records if r.token_id), None)
    key = token_id or (f"record:{rec.origin}:{rec.external_id}" if rec else "?")
    provider = row.provider if row else rec.provider if rec else "unknown"
    kind = row.kind if row else next((r.kind for r in records if r.kind != "unknown"), "unknown")
    preview = row.preview if row else next((r.preview for r in records if r.preview), None) or "—"
    label = (manifest.name if manifest else None) or next((r.name for r in records if r.name), None) or preview
    return key, token_id, provider, kind, preview, label


def build_view(found: list[Discovered], records: list[DeclaredToken], joined: tuple[str, ...],
               opts: GatherOptions) -> TokenView:
    """Merge one group of discovered tokens and records into a TokenView."""
    rows = sorted((d.row for d in found), key=lambda r: (r.severity != "critical", r.severity, r.token_id))
    key, token_id, provider, kind, preview, label = _identity(rows, records)
    places = places_of(found)
    public = any(p.source.startswith(opts.public_sources) for p in places) if opts.public_sources else None
    idents = tuple(x for x in (token_id, *(v for d in found for _, v in d.public_ids),
                               *(v for r in records for _, v in r.public_ids)) if x)
    privilege, basis = _privilege(rows, records)
    created = _min(r.created_at for r in records if r.origin != "manifest")
    first_seen = _min([*(r.first_seen for r in rows), *(p.committed_at for p in places)])
    active, active_basis = _active(rows, records)
    # A provider's own answer to the token itself beats every listing and triage status.
    live, live_basis, granted = _verified(token_id, opts)
    if live is not None:
        active, active_basis = live, live_basis
    if granted and privilege_from_scopes(provider, granted):
        privilege, basis = privilege_from_scopes(provider, granted), f"granted scopes (verified): {', '.join(granted)}"
    declared_env = next((r.environment for r in records if r.origin == "manifest" and r.environment), None)
    return TokenView(
        key=key, token_id=token_id, provider=provider, kind=kind, preview=preview, label=label,
        origins=tuple(sorted(({"scan"} if found else set()) | {r.origin for r in records})), records=tuple(records),
        places=places, exposure=exposure(((p.where, p.in_head) for p in places), public),
        owner=_owner(records, places, opts),
        environment=normalise_environment(declared_env or next((r.environment for r in rows if r.environment), None)
                                          or next((r.environment for r in records if r.environment), None)),
        privilege=privilege, privilege_basis=basis,
        scopes=tuple(sorted({*granted, *(s for r in records for s in r.scopes)})), created_at=created,
        first_seen=first_seen,
        expires_at=_min([*(r.expires_at for r in rows), *(r.expires_at for r in records)]),
        last_used_at=_max([*(r.last_used_at for r in records), opts.usage.last_used(idents)]),
        age_days=age_days(created, first_seen, opts.now), active=active, active_basis=active_basis,
        status=rows[0].status if rows else "open",
        services=tuple(sorted({r.service for r in records if r.service})),
        environments=tuple(_environments(rows, records, places)),
        storage=tuple(sorted({s for r in records for s in (r.storage, r.location) if s})),
        used_scopes=opts.usage.used_scopes(idents), joined_on=joined)


def gather(discovered: Iterable[Discovered], records: Iterable[DeclaredToken], opts: GatherOptions) -> list[TokenView]:
    """One TokenView per distinct token across the inventory and every import."""
    return [build_view(found, recs, joined, opts) for found, recs, joined in components(discovered, records)]
