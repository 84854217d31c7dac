"""Classification of a finding: environment, privilege, expiry, where it lives, decoded metadata."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath

from tokenward import providers

TEST_DIRS = frozenset({"test", "tests", "testing", "spec", "specs", "__tests__", "fixtures", "testdata",
                       "test-data", "mocks", "__mocks__", "examples", "example", "samples"})
CI_FILES = re.compile(r"(^|/)(\.github/workflows/|\.gitlab-ci\.ya?ml$|Jenkinsfile$|\.circleci/|"
                      r"azure-pipelines\.ya?ml$|bitbucket-pipelines\.yml$|\.travis\.yml$|\.buildkite/)")
CONFIG_SUFFIXES = frozenset({".yml", ".yaml", ".json", ".toml", ".ini", ".cfg", ".conf", ".properties", ".xml",
                             ".tfvars", ".tf", ".hcl", ".npmrc", ".pypirc", ".netrc", ".tfstate"})
DOC_SUFFIXES = frozenset({".md", ".rst", ".txt", ".adoc", ".html", ".htm"})
KIND_PLACES = {"slack": "chat", "teams": "chat", "jira": "ticket", "confluence": "wiki", "notes": "notes",
               "ci-log": "ci-log", "image": "container-image", "notebook": "notebook", "document": "document"}
JWT_FIELDS = ("alg", "iss", "aud", "sub", "scope", "scp", "azp", "kid")


@dataclass(frozen=True)
class Classification:
    """What a finding is and where it lives, derived without any network access."""

    environment: str | None
    privilege: str | None
    expires_at: str | None
    where: str
    attributes: tuple[tuple[str, str], ...]


def where_it_lives(source_kind: str, path: str) -> str:
    """A coarse storage class: env-file, config, source-code, ci-config, docs, test-fixture, chat, …"""
    if source_kind in KIND_PLACES:
        return KIND_PLACES[source_kind]
    p = PurePosixPath(path.split("!/")[-1].lower())
    if TEST_DIRS & set(p.parts[:-1]) or p.name.startswith(("test_", "spec_")) or ".test." in p.name:
        return "test-fixture"
    if p.name.startswith(".env") or p.name.endswith(".env"):
        return "env-file"
    if CI_FILES.search(path):
        return "ci-config"
    if p.suffix == ".log":
        return "log"
    if p.suffix in CONFIG_SUFFIXES or p.name in {"dockerfile", "docker-compose.yml", ".git-credentials"}:
        return "config"
    if p.suffix in DOC_SUFFIXES:
        return "docs"
    return "source-code"


def _claim_text(value: object) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def jwt_metadata(secret: bytes) -> tuple[tuple[tuple[str, str], ...], str | None]:
    """Decoded (never verified) JWT header/claims worth showing, and the expiry as ISO 8601 UTC."""
    # Imported here: tokenward.checks builds every check (word lists, ~40 regexes) on import, which the
    # inventory writer, importing this module for severity(), never needs (about 60 ms of its start-up).
    from tokenward.checks.jwt import decode_jwt

    decoded = decode_jwt(secret)
    if decoded is None:
        return (), None
    header, payload = decoded
    merged = {**payload, "alg": header.get("alg"), "kid": header.get("kid")}
    attrs = tuple((k, _claim_text(merged[k])[:200]) for k in JWT_FIELDS if merged.get(k) is not None)
    exp = payload.get("exp")
    expires = None
    if isinstance(exp, int | float) and 0 < exp < 32503680000:
        expires = datetime.fromtimestamp(exp, UTC).isoformat().replace("+00:00", "Z")
    return attrs, expires


def classify(provider: str, kind: str, environment: str | None, privilege: str | None,
             secret: bytes, source_kind: str, path: str) -> Classification:
    """Classify one match from its rule, its plaintext (in memory only) and its origin."""
    attrs: tuple[tuple[str, str], ...] = ()
    expires = None
    if secret.startswith(b"eyJ"):
        attrs, expires = jwt_metadata(secret)
    if provider == "private-key":
        attrs = (("encrypted", str(b"ENCRYPTED" in secret[:200]).lower()),)
    return Classification(environment, privilege, expires, where_it_lives(source_kind, path), attrs)


# -- severity ----------------------------------------------------------------------------------------

SEVERITY_ORDER = ("low", "medium", "high", "critical")  # the one order of finding severities (ascending)


def severity(confidence: str, environment: str | None, privilege: str | None) -> str:
    """critical | high | medium | low of a finding from its rule's confidence, environment and privilege."""
    if environment in ("test", "sandbox"):
        return "low"
    if confidence == "high":
        return "critical" if privilege == "admin" else "high"
    return "medium" if confidence == "medium" else "low"


def severity_rank(value: str) -> int:
    """Position in SEVERITY_ORDER: low 0 … critical 3 (-1 for anything else)."""
    return SEVERITY_ORDER.index(value) if value in SEVERITY_ORDER else -1


# -- privilege from provider data -------------------------------------------------------------------

PRIVILEGES = ("read", "write", "admin")  # ascending; "unknown" sits outside the order
GOD_MODE_SCOPES = frozenset({"admin:org", "admin:enterprise", "delete_repo", "site_admin", "sudo", "admin_mode",
                             "root", "*", "owner", "iam:*"})


def scope_level(provider: str, scope: str) -> str:
    """read | write | admin | unknown for one granted scope or permission ('contents:write' for fine-grained)."""
    s = scope.strip().lower()
    if s in GOD_MODE_SCOPES or s.startswith("admin:"):
        return "admin"
    known = providers.facts(provider)
    if known.has_scope_table:
        return known.scope_level(s)
    # No table for this provider: read the scope's own words.
    if s.endswith(("_admin", ":admin")) or "admin" in s.split(":")[-1:]:
        return "admin"
    if s.startswith(("read", "get", "list")) or s.endswith(("read", ":ro", "_read", "readonly")):
        return "read"
    return "write" if s.startswith(("write", "create", "update", "delete")) or s.endswith("write") else "unknown"


def max_privilege(levels: Iterable[str | None]) -> str | None:
    """The highest of read < write < admin; 'unknown' when only unknowns; None when nothing."""
    seen = [lv for lv in levels if lv]
    known = [lv for lv in seen if lv in PRIVILEGES]
    if known:
        return max(known, key=PRIVILEGES.index)
    return "unknown" if seen else None


def privilege_from_scopes(provider: str, scopes: Iterable[str]) -> str | None:
    """The privilege a set of granted scopes amounts to (None when there are no scopes)."""
    return max_privilege(scope_level(provider, s) for s in scopes)


def god_mode_scopes(provider: str, scopes: Iterable[str]) -> tuple[str, ...]:
    """The granted scopes that amount to full control of an account, organisation or server."""
    return tuple(sorted(s for s in scopes if scope_level(provider, s) == "admin"))


def privilege_from_kind(provider: str, kind: str) -> str | None:
    """Privilege implied by a token's kind where the format says it (Stripe secret vs restricted, Slack user)."""
    return providers.facts(provider).kind_privilege(kind)


# -- environment, age, exposure ---------------------------------------------------------------------

ENV_HINTS = (("production", re.compile(r"(^|[^a-z])(prod|production|live|prd)([^a-z]|$)")),
             ("staging", re.compile(r"(^|[^a-z])(staging|stage|stg|preprod)([^a-z]|$)")),
             ("test", re.compile(r"(^|[^a-z])(test|tests|testing|qa|sandbox)([^a-z]|$)")),
             ("development", re.compile(r"(^|[^a-z])(dev|development|local)([^a-z]|$)")))


def environment_hint(text: str) -> str | None:
    """production | staging | test | development when a path, namespace or name says so."""
    low = text.lower()
    return next((env for env, pattern in ENV_HINTS if pattern.search(low)), None)


def normalise_environment(value: str | None) -> str | None:
    """Rule/format environments (live, test, sandbox) and declared ones on one scale."""
    if value is None:
        return None
    v = value.lower()
    return {"live": "production", "prod": "production", "sandbox": "test", "stage": "staging",
            "dev": "development"}.get(v, v)


def age_days(created: datetime | None, first_seen: datetime | None, now: datetime) -> int | None:
    """Days since the token was created (provider data), else since tokenward first saw it."""
    start = created or first_seen
    return None if start is None else max(0, (now - start).days)


@dataclass(frozen=True)
class Exposure:
    """How exposed a leaked token is: where it leaked, whether it is still in HEAD, whether public."""

    leaked: bool
    in_head: bool | None
    history_only: bool
    public: bool | None
    places: tuple[str, ...]


def exposure(places: Iterable[tuple[str, bool | None]], public: bool | None = None) -> Exposure:
    """Exposure from (where-it-lives, in-HEAD) pairs of every plaintext occurrence."""
    items = list(places)
    in_head_values = [h for _, h in items if h is not None]
    in_head = any(in_head_values) if in_head_values else None
    history_only = bool(items) and len(in_head_values) == len(items) and not any(in_head_values)
    where = tuple(sorted({w for w, _ in items} | ({"history-only"} if history_only else set())))
    return Exposure(bool(items), in_head, history_only, public, where)
