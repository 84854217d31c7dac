"""The importer interface: a declared or provider inventory → DeclaredToken records (never a secret value)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tokenward.engine import Matcher
    from tokenward.identity import Fingerprinter


@dataclass(frozen=True)
class DeclaredToken:
    """One token as a manifest declares it or a provider / secrets manager reports it."""

    origin: str  # the importer: manifest, aws, github, gitlab, k8s, openbao
    external_id: str  # stable within its origin: manifest name, aws user#slot, gitlab:pat:12, vault path#field
    provider: str
    kind: str = "unknown"
    token_id: str | None = None  # HMAC fingerprint, when the value was seen (in memory) or declared
    public_ids: tuple[tuple[str, str], ...] = ()  # (name, value): id (AWS key id), github_hashed_token, …
    links: tuple[str, ...] = ()  # external ids of other records this one declares (manifest provider_id)
    name: str | None = None
    service: str | None = None
    function: str | None = None
    owner: str | None = None
    purpose: str | None = None  # declared need: read | write | admin
    allowed_scopes: tuple[str, ...] | None = None
    scopes: tuple[str, ...] = ()  # granted, as the provider reports them
    max_age_days: int | None = None
    storage: str | None = None  # declared storage reference (vault:…, k8s:…, aws-sm:…)
    environment: str | None = None
    privilege: str | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    last_used_detail: str | None = None
    active: bool | None = None
    location: str | None = None  # where a secrets manager keeps the value (openbao:secret/app#key)
    preview: str | None = None
    line: int | None = None
    details: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ImportRequest:
    """What to import: a file path or server URL, plus importer-specific options."""

    source: str
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportResult:
    """Records read from one source, and notes about entries that could not be used."""

    origin: str
    source: str
    records: tuple[DeclaredToken, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportContext:
    """What importers may use: the fingerprinter, a lazily compiled matcher and the clock."""

    fingerprinter: Fingerprinter
    matcher: Callable[[], Matcher]
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


class Importer(Protocol):
    """Reads one inventory source."""

    def __call__(self, request: ImportRequest, ctx: ImportContext) -> ImportResult:
        """Parse request.source into records; ImporterError when the source is unusable as a whole."""
        ...


def parse_time(value: object) -> datetime | None:
    """An aware UTC datetime from ISO 8601 text or a Unix timestamp; None for empty, N/A or garbage."""
    if value is None or value in ("", "N/A", "not_supported", "no_information", 0):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    text = str(value).strip().replace("Z", "+00:00")
    if "." in text and "+" in text:  # Vault's nanosecond fractions are longer than fromisoformat takes
        head, _, rest = text.partition(".")
        frac, _, zone = rest.partition("+")
        text = f"{head}.{frac[:6]}+{zone}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
