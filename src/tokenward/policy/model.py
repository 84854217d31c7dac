"""What the review works on and produces: merged token views, violations and the review itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tokenward.classify import Exposure
from tokenward.importers.interface import DeclaredToken
from tokenward.owners import Owner

SEVERITIES = ("critical", "high", "medium", "low", "info")


def severity_rank(severity: str) -> int:
    """0 for critical … 4 for info (unknown sorts last)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


@dataclass(frozen=True)
class Place:
    """One plaintext occurrence of a token, as the review shows it (no value)."""

    where: str  # where_it_lives class: source-code, env-file, ci-log, chat, …
    source: str
    path: str
    line: int
    commit: str | None
    author: str | None
    committed_at: datetime | None
    in_head: bool | None


@dataclass(frozen=True)
class TokenView:
    """One token with everything the inventory, the importers, CODEOWNERS and usage data say about it."""

    key: str  # token_id, or "record:<origin>:<external id>" for a token known only from an import
    token_id: str | None
    provider: str
    kind: str
    preview: str
    label: str  # a human handle: declared name, provider name, or preview
    origins: tuple[str, ...]  # scan, manifest, aws, github, gitlab, k8s, openbao
    records: tuple[DeclaredToken, ...]
    places: tuple[Place, ...]
    exposure: Exposure
    owner: Owner | None
    environment: str | None
    privilege: str | None
    privilege_basis: str | None
    scopes: tuple[str, ...]
    created_at: datetime | None
    first_seen: datetime | None
    expires_at: datetime | None
    last_used_at: datetime | None
    age_days: int | None
    active: bool | None
    active_basis: str | None
    status: str  # triage status from the inventory (open, revoked, …); "open" for import-only tokens
    services: tuple[str, ...]
    environments: tuple[str, ...]
    storage: tuple[str, ...]  # declared or observed managed storage (openbao:…, k8s:…)
    used_scopes: frozenset[str] | None = None  # from usage monitoring, when available
    joined_on: tuple[str, ...] = ()

    @property
    def declared(self) -> DeclaredToken | None:
        """The manifest entry, if the token is declared."""
        return next((r for r in self.records if r.origin == "manifest"), None)

    @property
    def leaked(self) -> bool:
        """True when the token was found in plaintext somewhere."""
        return self.exposure.leaked


@dataclass(frozen=True)
class Violation:
    """One policy violation: what, how bad, which token, the evidence and the concrete fix."""

    check: str
    severity: str
    token_key: str
    token_label: str
    provider: str
    owner: str | None
    title: str
    evidence: tuple[str, ...]
    remediation: str
    path: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class ReviewSummary:
    """The headline counts of a review."""

    tokens: int
    leaked: int
    active_and_leaked: int
    unmapped: int
    overdue: int
    violations: int
    by_severity: dict[str, int]


@dataclass(frozen=True)
class Review:
    """A complete review: tokens, violations, the summary and what was reviewed."""

    generated_at: datetime
    policy: str
    database: str
    tokens: tuple[TokenView, ...]
    violations: tuple[Violation, ...]
    summary: ReviewSummary
    imports: tuple[tuple[str, str, datetime, int], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    tool_version: str = ""
