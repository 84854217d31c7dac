"""Identity join: which inventory token an event's identifier names; unknown ones become inventory entries."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from tokenward.usage.detectors import TokenInfo
from tokenward.usage.events import (
    AWS_KEY_ID,
    EXTERNAL,
    GITHUB_HASHED,
    GITHUB_TOKEN_NUMBER,
    TOKEN_ID,
    VAULT_ACCESSOR,
    VAULT_HMAC,
    UsageEvent,
)

if TYPE_CHECKING:
    from tokenward.store import Inventory

# event identifier kind -> names the inventory may keep that public id under
PUBLIC_NAMES: dict[str, tuple[str, ...]] = {
    AWS_KEY_ID: ("id", "aws_access_key_id", "aws_key_id"),
    GITHUB_HASHED: ("github_hashed_token",),
    GITHUB_TOKEN_NUMBER: ("github_token_id",),
    VAULT_ACCESSOR: ("vault_accessor", "accessor"),
    VAULT_HMAC: ("vault_audit_hmac",),
    EXTERNAL: ("external_id", "name"),
}
NEVER_DECLARED = "seen in use, never declared"


@dataclass(frozen=True)
class KnownToken:
    """An inventory token and the public identifiers it can be recognised by in logs."""

    info: TokenInfo
    public_ids: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class UnmappedToken:
    """A token seen in logs that the inventory does not know: to be added, marked as never declared."""

    info: TokenInfo
    ident_kind: str
    ident: str


class TokenDirectory(Protocol):
    """What the monitor needs from the inventory."""

    def known(self) -> Iterable[KnownToken]:
        """Every inventory token with its status, owner and public ids."""

    def declare_unmapped(self, tokens: Sequence[UnmappedToken]) -> None:
        """Add tokens seen in use but never declared to the inventory."""


def unmapped_id(kind: str, value: str) -> str:
    """The token id given to a token known only by a public identifier (stable across runs)."""
    return hashlib.sha256(f"tokenward usage\0{kind}\0{value}".encode()).hexdigest()


def _seconds(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


class InventoryDirectory:
    """TokenDirectory over the store's public Inventory API."""

    PUBLIC_PROVIDERS = frozenset({"aws", "github", "hashicorp", "vault", "openbao"})

    def __init__(self, inventory: Inventory, actor: str = "tokenward monitor") -> None:
        self.inventory, self.actor = inventory, actor

    def known(self) -> Iterable[KnownToken]:
        """Tokens from list_tokens; public ids, where the provider has any, read a page of tokens at a time."""
        # A bare AWS key id token first: its key pair's secret, listed after it, then owns the key id's events.
        rows = sorted(self.inventory.list_tokens(), key=lambda r: r.kind != "access-key-id")
        wanted = [row.token_id for row in rows if row.provider in self.PUBLIC_PROVIDERS]
        # one query per page, not one token_detail (five queries) per token: ~1 ms a token at start-up
        listed = {row.token_id: ids for row, ids, _ in self.inventory.discovered(wanted)} if wanted else {}
        for row in rows:
            public: tuple[tuple[str, str], ...] = (("id", row.public_id),) if row.public_id else ()
            if row.provider in self.PUBLIC_PROVIDERS:
                public = listed.get(row.token_id) or public
            yield KnownToken(TokenInfo(row.token_id, row.provider, row.preview, row.public_id, row.owner, row.status,
                                       _seconds(row.status_changed_at)), public)

    def declare_unmapped(self, tokens: Sequence[UnmappedToken]) -> None:
        """Write them as inventory tokens (provider, preview, public id) through write_batch."""
        from tokenward.store.records import Batch, ScanStart, TokenRecord

        if not tokens:
            return
        now = datetime.now(UTC)
        scan = ScanStart(f"usage-{uuid.uuid4().hex[:26]}", now, self.actor, "", 0, (), "usage-monitor", 0, "")
        records = tuple(TokenRecord(
            t.info.token_id, t.info.provider, "seen-in-use", t.info.preview, t.info.public_id,
            tuple((n, t.ident) for n in PUBLIC_NAMES.get(t.ident_kind, ())[:1]), (), "high", None, None, "medium")
            for t in tokens)
        self.inventory.write_batch(scan, now, Batch(records, (), ()))


def _preview(ev: UsageEvent) -> str:
    if ev.ident_kind == AWS_KEY_ID:
        return ev.ident  # an access key id is an identifier, not a secret: shown whole
    return ev.preview or "…"


class Joiner:
    """Maps (identifier kind, value) to TokenInfo, creating never-declared entries for unknown tokens."""

    def __init__(self, directory: TokenDirectory, learned: dict[tuple[str, str], str] | None = None,
                 flags: dict[str, tuple[bool, bool, str | None]] | None = None) -> None:
        self.directory = directory
        self.by_id: dict[str, TokenInfo] = {}
        self.by_ident: dict[tuple[str, str], str] = dict(learned or {})
        self.flags = flags or {}
        self.pending: list[UnmappedToken] = []
        self.new_idents: dict[tuple[str, str], str] = {}
        self.load()

    def load(self) -> None:
        """(Re)read the directory: statuses, owners and public ids may have changed."""
        names = {n: kind for kind, ns in PUBLIC_NAMES.items() for n in ns}
        for k in self.directory.known():
            declared, honey, _ = self.flags.get(k.info.token_id, (True, False, None))
            info = k.info if not honey and declared else _with_flags(k.info, declared, honey)
            self.by_id[info.token_id] = info
            for name, value in k.public_ids:
                if name in names:
                    self.by_ident[(names[name], value)] = info.token_id

    def alias(self, kind: str, value: str, token_id: str) -> None:
        """Teach the joiner another identifier of a token (e.g. a Vault audit HMAC of its accessor)."""
        self.by_ident[(kind, value)] = token_id
        self.new_idents[(kind, value)] = token_id

    def resolve(self, ev: UsageEvent) -> TokenInfo:
        """The token ev was made with (an unmapped entry is created on first sight)."""
        key = (ev.ident_kind, ev.ident)
        token_id = ev.ident if ev.ident_kind == TOKEN_ID else self.by_ident.get(key)
        info = self.by_id.get(token_id) if token_id else None
        if info is not None:
            return info
        token_id = token_id or unmapped_id(*key)
        public = ev.ident if ev.ident_kind in (AWS_KEY_ID, GITHUB_TOKEN_NUMBER) else None
        honey = self.flags.get(token_id, (False, False, None))[1]
        info = TokenInfo(token_id, ev.provider, _preview(ev), public, honeytoken=honey, declared=False)
        self.by_id[token_id] = info
        if ev.ident_kind != TOKEN_ID:
            self.alias(ev.ident_kind, ev.ident, token_id)
        self.pending.append(UnmappedToken(info, ev.ident_kind, ev.ident))
        return info

    def flush(self) -> list[UnmappedToken]:
        """Write pending never-declared tokens to the directory; returns them."""
        pending, self.pending = self.pending, []
        self.directory.declare_unmapped(pending)
        return pending


def _with_flags(info: TokenInfo, declared: bool, honeytoken: bool) -> TokenInfo:
    from dataclasses import replace

    return replace(info, declared=declared, honeytoken=honeytoken)


class MemoryDirectory:
    """A TokenDirectory held in memory (tests, benchmarks, and runs without an inventory)."""

    def __init__(self, tokens: Iterable[KnownToken] = ()) -> None:
        self.tokens = {t.info.token_id: t for t in tokens}
        self.unmapped: list[UnmappedToken] = []

    def known(self) -> Iterable[KnownToken]:
        """The tokens given."""
        return list(self.tokens.values())

    def declare_unmapped(self, tokens: Sequence[UnmappedToken]) -> None:
        """Remember them."""
        self.unmapped.extend(tokens)
        for t in tokens:
            self.tokens[t.info.token_id] = KnownToken(t.info, ((t.ident_kind, t.ident),))
