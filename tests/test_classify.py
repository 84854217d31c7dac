"""Classification: where a token lives, JWT claims and expiry, private-key encryption flag."""

from __future__ import annotations

import pytest

from tests.tokens import TokenFactory
from tokenward.classify import classify, where_it_lives


@pytest.mark.parametrize("kind, path, expected", [
    ("file", ".env", "env-file"),
    ("file", "deploy/.env.production", "env-file"),
    ("file", "tests/fixtures/creds.json", "test-fixture"),
    ("file", "src/app/settings.py", "source-code"),
    ("file", ".github/workflows/deploy.yml", "ci-config"),
    ("file", "config/app.yaml", "config"),
    ("file", "docs/setup.md", "docs"),
    ("file", "build/output.log", "log"),
    ("slack", "export.zip!/general/2024-01-01.json", "chat"),
    ("jira", "issues.json", "ticket"),
    ("archive", "release.zip!/app/.env", "env-file"),
])
def test_where_it_lives(kind: str, path: str, expected: str) -> None:
    assert where_it_lives(kind, path) == expected


def test_jwt_claims_and_expiry_are_decoded_not_verified() -> None:
    token = TokenFactory(3).jwt({"iss": "https://login.example", "aud": ["api"], "exp": 1893456000,
                                 "scope": "read write"}).encode()
    c = classify("jwt", "token", None, None, token, "file", "a.py")
    assert c.expires_at == "2030-01-01T00:00:00Z"
    assert dict(c.attributes) == {"alg": "HS256", "iss": "https://login.example", "aud": "api",
                                  "scope": "read write"}


def test_private_key_encrypted_flag() -> None:
    enc = b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB..."
    plain = b"-----BEGIN PRIVATE KEY-----\nMIIB..."
    assert dict(classify("private-key", "pkcs8", None, None, enc, "file", "k").attributes) == {"encrypted": "true"}
    assert dict(classify("private-key", "pkcs8", None, None, plain, "file", "k").attributes) == {"encrypted": "false"}


def test_provider_facts_come_from_data() -> None:
    from tokenward import providers
    from tokenward.classify import privilege_from_kind, scope_level
    assert providers.facts("github").derived_ids == ("github_hashed_token",)
    assert scope_level("github", "administration:write") == "admin"
    assert scope_level("github", "contents:write") == "write"
    assert scope_level("github", "read:org") == "read" and scope_level("github", "nonsense") == "unknown"
    assert scope_level("gitlab", "read_api") == "read" and scope_level("gitlab", "api") == "write"
    assert scope_level("acme", "billing:read") == "read"  # no table: the scope's own words
    assert privilege_from_kind("stripe", "restricted-key") == "write"
    assert privilege_from_kind("slack", "user-token") == "admin" and privilege_from_kind("acme", "user") is None
