"""Policy spec (defaults, overrides, errors with file:line), owner mapping, classification helpers, checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tokenward.classify import environment_hint, exposure, privilege_from_scopes, scope_level
from tokenward.errors import PolicyError
from tokenward.importers.interface import DeclaredToken
from tokenward.owners import map_owner, owners_for, parse_codeowners
from tokenward.policy.checks import CHECKS
from tokenward.policy.evaluate import build_review, fails
from tokenward.policy.gather import GatherOptions, gather
from tokenward.policy.spec import load_policy

KNOWN = frozenset(CHECKS)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_defaults_cover_every_check() -> None:
    policy = load_policy(None, KNOWN)
    assert {c.id for c in policy.checks} == KNOWN and policy.fail_on == "high"
    rot = next(c for c in policy.checks if c.id == "rotation-overdue")
    assert rot.params["max_age_days"]["admin"] == 30


def test_overrides_merge(tmp_path: Path) -> None:
    p = tmp_path / "policy.yaml"
    p.write_text("fail_on: critical\nchecks:\n  dormant: {enabled: false}\n  rotation-overdue:\n"
                 "    severity: high\n    max_age_days: {admin: 7}\n")
    policy = load_policy(p, KNOWN)
    rot = next(c for c in policy.checks if c.id == "rotation-overdue")
    assert "dormant" not in {c.id for c in policy.checks} and policy.fail_on == "critical"
    assert rot.severity == "high" and rot.params["max_age_days"] == {"admin": 7, "write": 90, "read": 180,
                                                                      "unknown": 90}


@pytest.mark.parametrize("body, expected", [
    ("checks:\n  nosuch: {}\n", ":2: checks.nosuch: unknown check"),
    ("checks:\n  dormant:\n    severity: extreme\n", ":3: checks.dormant.severity:"),
    ("checks:\n  dormant:\n    dayz: 3\n", "checks.dormant.dayz: unknown parameter"),
    ("checks:\n  dormant:\n    days: soon\n", "checks.dormant.days: expected int"),
    ("colour: red\n", ":1: colour:"),
    ("checks: [\n", "not valid YAML"),
])
def test_policy_errors_name_file_line_field(tmp_path: Path, body: str, expected: str) -> None:
    p = tmp_path / "policy.yaml"
    p.write_text(body)
    with pytest.raises(PolicyError) as err:
        load_policy(p, KNOWN)
    assert str(p) in str(err.value) and expected in str(err.value)


def test_codeowners_patterns_and_last_match_wins() -> None:
    rules = parse_codeowners("# owners\n*  @acme/all\n/app/ @acme/backend\ndocs/* @acme/docs\n*.env @acme/sre\n"
                             "/vendor/\n[Section]\n")
    assert owners_for(rules, "app/settings.py").owners == ("@acme/backend",)  # type: ignore[union-attr]
    assert owners_for(rules, "lib/app/x.py").owners == ("@acme/all",)  # type: ignore[union-attr]
    assert owners_for(rules, "docs/a.md").owners == ("@acme/docs",)  # type: ignore[union-attr]
    assert owners_for(rules, "docs/deep/a.md").owners == ("@acme/all",)  # type: ignore[union-attr]
    assert owners_for(rules, "svc/.env").owners == ("@acme/sre",)  # type: ignore[union-attr]
    assert owners_for(rules, "vendor/lib.py").owners == ()  # type: ignore[union-attr]


def test_owner_precedence() -> None:
    code = map_owner(None, None, None, None, ("Ana", "abc123def4567"))
    assert code is not None and code.basis == "inferred" and "abc123def456" in code.evidence
    assert map_owner("@team", "x", None, "mona", ("Ana", "c")).basis == "manifest"  # type: ignore[union-attr]
    assert map_owner(None, None, None, "mona", ("Ana", "c")).basis == "provider"  # type: ignore[union-attr]
    assert map_owner(None, None, None, None, None) is None


def test_privilege_from_provider_scopes() -> None:
    assert privilege_from_scopes("gitlab", ["read_api"]) == "read"
    assert privilege_from_scopes("gitlab", ["api", "read_api"]) == "write"
    assert privilege_from_scopes("gitlab", ["sudo"]) == "admin"
    assert privilege_from_scopes("github", ["repo"]) == "write"
    assert privilege_from_scopes("github", ["repo", "delete_repo"]) == "admin"
    assert privilege_from_scopes("github", ["read:org"]) == "read"
    assert scope_level("github", "contents:read") == "read" and scope_level("github", "administration:write") == "admin"
    assert privilege_from_scopes("github", []) is None


def test_environment_hints_and_exposure() -> None:
    assert environment_hint("payments-prod") == "production" and environment_hint("config/staging.yml") == "staging"
    assert environment_hint("secret/app") is None
    e = exposure([("source-code", False), ("source-code", False)])
    assert e.history_only and e.places == ("history-only", "source-code")
    assert not exposure([("env-file", True), ("source-code", False)]).history_only


def _record(**kw: object) -> DeclaredToken:
    base: dict[str, object] = {"origin": "manifest", "external_id": "x", "provider": "github"}
    return DeclaredToken(**{**base, **kw})  # type: ignore[arg-type]


def test_checks_on_import_only_tokens() -> None:
    records = [
        _record(name="x", owner="@t", service="s", purpose="read", allowed_scopes=("read:org",), storage="vault:a#b",
                links=("github:credential:1",)),
        _record(origin="github", external_id="github:credential:1", scopes=("read:org", "admin:org"), active=True,
                privilege="admin", created_at=NOW - timedelta(days=400), last_used_at=NOW - timedelta(days=200)),
    ]
    tokens = gather([], records, GatherOptions(NOW))
    assert len(tokens) == 1 and tokens[0].owner and tokens[0].owner.basis == "manifest"
    review = build_review(tokens, load_policy(None, KNOWN), NOW, "test")
    checks = {v.check for v in review.violations}
    assert {"over-scoped", "rotation-overdue", "long-lived", "dormant"} <= checks
    assert "leaked-and-active" not in checks and "wrong-storage" not in checks and "unmapped-owner" not in checks
    over = next(v for v in review.violations if v.check == "over-scoped")
    assert over.remediation.startswith("Drop admin:org")
    assert fails(review, "high") and not fails(review, "none")
