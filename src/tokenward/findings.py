"""RawMatch → Finding: ids, location and preview. Plaintext is dropped here unless asked for."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from tokenward import providers
from tokenward.classify import classify
from tokenward.identity import Fingerprinter, preview
from tokenward.sources.interface import Blob, Origin

if TYPE_CHECKING:  # the engine (rules, checks, Hyperscan) is not for readers of findings: the inventory writer
    from tokenward.engine import RawMatch


@dataclass(frozen=True)
class Location:
    """1-based line and column of a secret within its blob, plus byte offsets."""

    line: int
    column: int
    end_line: int
    end_column: int
    offset: int
    length: int


@dataclass(frozen=True)
class Finding:
    """One occurrence of one token, without plaintext (unless `secret` was explicitly requested)."""

    rule_id: str
    rule_name: str
    provider: str
    kind: str
    confidence: str
    token_id: str
    preview: str
    public_id: str | None
    public_ids: tuple[tuple[str, str], ...]
    origin: Origin
    location: Location
    environment: str | None = None
    privilege: str | None = None
    expires_at: str | None = None
    where: str = "source-code"
    attributes: tuple[tuple[str, str], ...] = ()  # decoded, non-secret metadata (JWT claims, …)
    secret: str | None = None  # only with --show-secrets; never persisted

    def without_secret(self) -> Finding:
        """The same finding with any plaintext removed."""
        return replace(self, secret=None) if self.secret is not None else self


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


def locate(data: bytes, start: int, end: int, line_offset: int = 0) -> Location:
    """The Location of data[start:end]; lines shifted by line_offset (a blob decoded from a file line)."""
    line, column = _position(data, start)
    end_line, end_column = _position(data, end)
    return Location(line + line_offset, column, end_line + line_offset, end_column, start, end - start)


def _public_ids(m: RawMatch) -> tuple[tuple[str, str], ...]:
    ids: list[tuple[str, str]] = []
    if m.public_id:
        ids.append(("id", m.public_id.decode("utf-8", "replace")))
    ids.extend(providers.facts(m.rule.spec.provider).public_ids(m.secret))
    return tuple(ids)


def make_finding(blob: Blob, m: RawMatch, fp: Fingerprinter, show_secret: bool = False) -> Finding:
    """Fingerprint one match; the returned Finding carries plaintext only when show_secret."""
    spec = m.rule.spec
    c = classify(spec.provider, spec.kind, spec.environment, spec.privilege, m.secret,
                 blob.origin.kind, blob.origin.path)
    # A wrong checksum makes it a look-alike of the provider's token: shown only at low confidence.
    lookalike = () if m.checksum_valid else (("checksum", "invalid"),)
    return Finding(
        rule_id=spec.id, rule_name=spec.name, provider=spec.provider, kind=spec.kind,
        confidence=spec.confidence if m.checksum_valid else "low",
        token_id=fp.token_id(m.secret), preview=preview(m.secret),
        public_id=m.public_id.decode("utf-8", "replace") if m.public_id else None,
        public_ids=_public_ids(m), origin=blob.origin,
        location=locate(blob.data, m.secret_start, m.secret_end, blob.origin.line_offset),
        environment=c.environment, privilege=c.privilege, expires_at=c.expires_at, where=c.where,
        attributes=c.attributes + lookalike,
        secret=m.secret.decode("utf-8", "replace") if show_secret else None,
    )
