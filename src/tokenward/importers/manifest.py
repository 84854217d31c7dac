"""tokens.yaml: the organisation's declared tokens (owner, service, purpose, scopes, max age, storage).

A token is recognised by its fingerprint, a public id, a provider id, or a pointer to where its value lives
(an environment variable or an OpenBao/Vault KV path), which is read and fingerprinted, never stored.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tokenward import yamlsafe
from tokenward.errors import ImporterError
from tokenward.importers.interface import DeclaredToken, ImportContext, ImportRequest, ImportResult
from tokenward.importers.values import identify
from tokenward.importers.yamlpos import Path as YPath
from tokenward.importers.yamlpos import line_of, load_yaml, validation_messages

Purpose = Literal["read", "write", "admin"]


class MatchSpec(BaseModel):
    """How to recognise the declared token."""

    model_config = ConfigDict(extra="forbid")
    token_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    aws_key_id: str | None = Field(default=None, pattern=r"^(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}$")
    github_hashed_token: str | None = Field(default=None, min_length=40, max_length=48)
    public_id: str | None = None
    provider_id: list[str] = Field(default_factory=list)
    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    vault: str | None = Field(default=None, pattern=r"^[^#\s]+/[^#\s]+#[^#\s]+$")

    @model_validator(mode="after")
    def _something(self) -> MatchSpec:
        if not any((self.token_id, self.aws_key_id, self.github_hashed_token, self.public_id, self.provider_id,
                    self.env, self.vault)):
            raise ValueError("give at least one of token_id, aws_key_id, github_hashed_token, public_id, "
                             "provider_id, env, vault")
        return self


class EntrySpec(BaseModel):
    """One declared token."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    provider: str = Field(min_length=1)
    kind: str | None = None
    service: str | None = None
    function: str | None = None
    owner: str | None = None
    purpose: Purpose | None = None
    environment: str | None = None
    allowed_scopes: list[str] | None = None
    max_age_days: int | None = Field(default=None, ge=1, le=36500)
    storage: str | None = None
    match: MatchSpec


class ManifestSpec(BaseModel):
    """The whole tokens.yaml."""

    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = 1
    tokens: list[EntrySpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> ManifestSpec:
        names = [e.name for e in self.tokens]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate token names: {', '.join(dupes)}")
        return self


def parse_manifest(text: str, name: str) -> tuple[ManifestSpec, dict[YPath, int]]:
    """Validate a manifest; ImporterError lists every problem as file:line: field: message."""
    data, lines = load_yaml(text, name, ImporterError)
    try:
        return ManifestSpec.model_validate(data if data is not None else {}), lines
    except ValidationError as exc:
        raise ImporterError("invalid token manifest:\n" + validation_messages(exc, name, lines)) from None


def _value(entry: EntrySpec, request: ImportRequest, notes: list[str], where: str) -> bytes | None:
    m = entry.match
    if m.env:
        if os.environ.get(m.env):
            return os.environ[m.env].encode()
        notes.append(f"{where}: {entry.name}: environment variable {m.env} is not set; not fingerprinted")
    if m.vault:
        from tokenward.importers.openbao import BaoClient, client_token, server_addr

        mount, _, rest = m.vault.partition("/")
        path, _, field = rest.partition("#")
        client = BaoClient(server_addr(request.options.get("vault_addr")), client_token())
        try:
            value = client.kv_read(mount, path).get(field)
        finally:
            client.close()
        if isinstance(value, str) and value:
            return value.encode()
        notes.append(f"{where}: {entry.name}: {m.vault} not found; not fingerprinted")
    return None


def _public_ids(m: MatchSpec) -> tuple[tuple[str, str], ...]:
    ids = [("id", m.aws_key_id)] if m.aws_key_id else []
    ids += [("github_hashed_token", m.github_hashed_token)] if m.github_hashed_token else []
    ids += [("id", m.public_id)] if m.public_id else []
    return tuple(ids)


def _record(entry: EntrySpec, line: int, request: ImportRequest, ctx: ImportContext, notes: list[str],
            where: str) -> DeclaredToken:
    token_id, public, preview, kind = entry.match.token_id, _public_ids(entry.match), None, entry.kind
    value = _value(entry, request, notes, where)
    if value is not None:
        found = identify(value, ctx.fingerprinter, ctx.matcher())
        if found:
            token_id, preview, kind = found[0].token_id, found[0].preview, kind or found[0].kind
            public += found[0].public_ids
    return DeclaredToken(
        origin="manifest", external_id=entry.name, provider=entry.provider.lower(), kind=kind or "unknown",
        token_id=token_id, public_ids=tuple(dict.fromkeys(public)), links=tuple(entry.match.provider_id),
        name=entry.name, service=entry.service, function=entry.function, owner=entry.owner, purpose=entry.purpose,
        allowed_scopes=tuple(entry.allowed_scopes) if entry.allowed_scopes is not None else None,
        max_age_days=entry.max_age_days, storage=entry.storage, environment=entry.environment,
        preview=preview, line=line,
        location=f"openbao:{entry.match.vault}" if entry.match.vault else None)  # where rotate finds the value


def import_manifest(request: ImportRequest, ctx: ImportContext) -> ImportResult:
    """Read and validate tokens.yaml; pointed-to values are fingerprinted in memory only."""
    path = Path(request.source)
    try:
        text = yamlsafe.read_text(path, ImporterError)
    except (OSError, UnicodeDecodeError) as exc:
        raise ImporterError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    spec, lines = parse_manifest(text, str(path))
    notes: list[str] = []
    records = []
    for i, entry in enumerate(spec.tokens):
        line = line_of(lines, ("tokens", i))
        records.append(_record(entry, line, request, ctx, notes, f"{path}:{line}"))
    return ImportResult("manifest", str(path.absolute()), tuple(records), tuple(notes))
