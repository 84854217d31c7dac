"""Classification of a finding: environment, privilege, expiry, where it lives, decoded metadata."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath

from tokenward.checks.jwt import decode_jwt

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
