"""What every verifier and revoker is: the verdict, the in-memory credential, the HTTP reply, the protocols.

A plaintext secret exists only inside a `Credential`, for the length of one verification or revocation;
nothing here is ever written to the inventory, a log or the terminal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Status = Literal["live", "invalid", "unknown"]
STATUSES: tuple[Status, ...] = ("live", "invalid", "unknown")


@dataclass(frozen=True)
class Verdict:
    """The result of one verification: live | invalid | unknown, why, and what the provider said about it."""

    status: Status
    reason: str
    identity: str | None = None  # user, account, team: whom the token acts as
    scopes: tuple[str, ...] = ()
    expires_at: str | None = None  # ISO 8601 when the provider says
    evidence: str = ""  # the request and the answer that decided it, e.g. "GET /user -> 200 JSON {login}"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (never contains the secret)."""
        return {"status": self.status, "reason": self.reason, "identity": self.identity,
                "scopes": list(self.scopes), "expires_at": self.expires_at, "evidence": self.evidence}


@dataclass(frozen=True, repr=False)
class Credential:
    """A plaintext token held in memory for one request, with the public ids found next to it."""

    secret: str
    rule_id: str
    public_ids: tuple[tuple[str, str], ...] = ()

    @property
    def provider(self) -> str:
        """The provider part of the rule id (github for github.pat-classic)."""
        return self.rule_id.split(".", 1)[0]

    def public(self, name: str = "id") -> str | None:
        """A public identifier found with the token (AWS access key id, Twilio SID…)."""
        return next((v for k, v in self.public_ids if k == name), None)

    def __repr__(self) -> str:
        # A traceback or a debugger never shows the plaintext.
        return f"Credential(rule_id={self.rule_id!r}, secret=<redacted>)"


@dataclass(frozen=True)
class Reply:
    """An HTTP answer, as the evidence rules see it (header names lower-cased)."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        """The media type without parameters."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body) if self.body.strip() else None
        except ValueError:
            return None

    @property
    def html(self) -> bool:
        """True for an HTML page (a WAF, a login page, a proxy error)."""
        head = self.body.lstrip()[:64].lower()
        return self.content_type == "text/html" or head.startswith((b"<!doctype html", b"<html"))


@dataclass(frozen=True)
class Failure:
    """No usable HTTP answer: timeout, TLS or connection error, a refused request."""

    reason: str


@dataclass(frozen=True)
class Call:
    """One request to a provider. Values may contain the plaintext: show only `redacted()`."""

    method: str
    path: str  # appended to the provider's base URL
    headers: tuple[tuple[str, str], ...] = ()
    params: tuple[tuple[str, str], ...] = ()
    json: Any = None
    form: tuple[tuple[str, str], ...] = ()
    basic: tuple[str, str] | None = None
    body: str | None = None  # a raw body (a signed request must send exactly the bytes it signed)

    def redacted(self, secret: str, mask: str = "<token>") -> Call:
        """The same call with the secret masked (for --dry-run and events) — also any part of it of 12 or more
        characters that starts or ends it (a webhook URL's path, a token sent without its "oauth:" prefix)."""
        parts = sorted({secret[i:] for i in range(len(secret) - 11)} | {secret[:i] for i in range(12, len(secret))},
                       key=len, reverse=True) if secret else []

        def r(text: str) -> str:
            for part in parts:
                if part in text:
                    text = text.replace(part, mask)
            return text

        def deep(value: Any) -> Any:
            if isinstance(value, str):
                return r(value)
            if isinstance(value, dict):
                return {k: deep(v) for k, v in value.items()}
            if isinstance(value, list):
                return [deep(v) for v in value]
            return value

        def pairs(items: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
            return tuple((k, r(v)) for k, v in items)

        basic = (r(self.basic[0]), r(self.basic[1])) if self.basic else None
        return Call(self.method, r(self.path), pairs(self.headers), pairs(self.params), deep(self.json),
                    pairs(self.form), basic, r(self.body) if self.body is not None else None)

    def describe(self, base: str) -> str:
        """A one-line curl-like description (call it on a redacted Call only)."""
        parts = [f"{self.method} {base.rstrip('/')}{self.path}"]
        if self.params:
            parts.append("?" + "&".join(f"{k}={v}" for k, v in self.params))
        parts += [f"-H '{k}: {v}'" for k, v in self.headers]
        if self.basic:
            parts.append(f"-u '{self.basic[0]}:{self.basic[1]}'")
        if self.form:
            parts.append("-d '" + "&".join(f"{k}={v}" for k, v in self.form) + "'")
        if self.body is not None:
            parts.append(f"-d '{self.body}'")
        if self.json is not None:
            parts.append(f"--json '{json.dumps(self.json, separators=(',', ':'))}'")
        return " ".join(parts)


class Http(Protocol):
    """A provider-bound HTTP client: requests go to its base URL only."""

    base: str

    def send(self, call: Call) -> Reply | Failure:
        """Send one call (rate limit, backoff and timeouts applied); never raises for network problems."""
        ...


@dataclass(frozen=True)
class Example:
    """A documented response a fake server replays for one route (tests)."""

    method: str
    path: str  # path prefix, without query
    status: int
    body: Any = None  # JSON-serialisable, or bytes/str sent as is
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Examples:
    """The documented success and rejection responses of a verifier or revoker."""

    live: tuple[Example, ...]
    invalid: tuple[Example, ...] = field(default_factory=tuple)


class ProviderCall(Protocol):
    """What every verifier and revoker says about itself: whose tokens, where, from which docs."""

    @property
    def provider(self) -> str:
        """The inventory's provider name (github, aws, vault…)."""
        ...

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """The rules whose tokens this handles."""
        ...

    @property
    def docs(self) -> str:
        """The provider documentation the evidence rule (or the revocation endpoint) comes from."""
        ...

    def base(self, cred: Credential) -> str:
        """The documented base URL for this credential."""
        ...


class Verifier(ProviderCall, Protocol):
    """Checks whether a token works, at one provider, from the provider's documented answer."""

    def verify(self, cred: Credential, http: Http) -> Verdict:
        """live / invalid / unknown with the evidence; never raises for a provider's answer."""
        ...

    def examples(self) -> Examples:
        """The documented responses (replayed by the tests' fake server)."""
        ...


@dataclass(frozen=True)
class Revocation:
    """What a revocation did: done (the provider confirmed), or not with why."""

    done: bool
    reason: str
    evidence: str = ""


class Revoker(ProviderCall, Protocol):
    """Revokes a token through the provider's API."""

    def calls(self, cred: Credential) -> tuple[Call, ...]:
        """The requests a revocation makes (shown redacted by --dry-run; later ones may depend on earlier)."""
        ...

    def revoke(self, cred: Credential, http: Http) -> Revocation:
        """Revoke; done only on the provider's documented success answer."""
        ...

    def examples(self) -> Examples:
        """The documented success (live) and failure (invalid) responses, for the tests."""
        ...
