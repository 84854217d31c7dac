"""Provider inventories: AWS credential report, GitHub and GitLab token listings, Kubernetes secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.review_samples import scenario
from tokenward.engine import Matcher
from tokenward.errors import ImporterError
from tokenward.identity import Fingerprinter
from tokenward.importers.aws_report import import_aws_report
from tokenward.importers.github_tokens import import_github_tokens
from tokenward.importers.gitlab_tokens import import_gitlab_tokens
from tokenward.importers.interface import ImportContext, ImportRequest, parse_time
from tokenward.importers.k8s_secrets import import_k8s_secrets

KEY = bytes(range(32))


@pytest.fixture()
def ctx(matcher: Matcher) -> ImportContext:
    return ImportContext(Fingerprinter(KEY), lambda: matcher)


def _write(tmp_path: Path, name: str, body: str) -> str:
    (tmp_path / name).write_text(body)
    return str(tmp_path / name)


def test_aws_credential_report_with_key_ids(tmp_path: Path, ctx: ImportContext) -> None:
    s = scenario()
    report = _write(tmp_path, "report.csv", s.imports["credential-report.csv"])
    keys = _write(tmp_path, "keys.json", s.imports["access-keys.json"])
    result = import_aws_report(ImportRequest(report, {"access_keys": keys}), ctx)
    by_id = {r.external_id: r for r in result.records}
    assert set(by_id) == {"aws:<root_account>#1", "aws:ci-deployer#1", "aws:ci-deployer#2"}
    root = by_id["aws:<root_account>#1"]
    assert root.kind == "root-access-key" and root.privilege == "admin" and root.active is True
    assert root.last_used_detail == "iam us-east-1"
    ci = by_id["aws:ci-deployer#1"]
    assert dict(ci.public_ids) == {"id": s.tokens["aws_id"]} and ci.active and ci.owner == "ci-deployer"
    assert ci.last_used_detail == "s3 eu-west-1" and (s.now - ci.created_at).days == 400  # type: ignore[operator]
    assert by_id["aws:ci-deployer#2"].active is False and by_id["aws:ci-deployer#2"].public_ids == ()


def test_aws_report_rejects_other_csv(tmp_path: Path, ctx: ImportContext) -> None:
    path = _write(tmp_path, "x.csv", "a,b\n1,2\n")
    with pytest.raises(ImporterError, match="not an IAM credential report"):
        import_aws_report(ImportRequest(path), ctx)


def test_github_listing(tmp_path: Path, ctx: ImportContext) -> None:
    s = scenario()
    result = import_github_tokens(ImportRequest(_write(tmp_path, "gh.json", s.imports["github-tokens.json"])), ctx)
    classic, fine = sorted(result.records, key=lambda r: r.kind)
    assert classic.kind == "pat-classic" and classic.privilege == "admin" and classic.owner == "octo-deployer"
    assert classic.scopes == ("repo", "admin:org", "workflow") and classic.preview == "ghp_…" + s.tokens["github"][-4:]
    assert fine.kind == "pat-fine-grained" and fine.privilege == "admin" and fine.owner == "mona"
    assert "administration:write" in fine.scopes and fine.expires_at and fine.active is True
    assert any("SSH key skipped" in n for n in result.notes)


def test_gitlab_listing(tmp_path: Path, ctx: ImportContext) -> None:
    s = scenario()
    path = _write(tmp_path, "gl.json", s.imports["gitlab-tokens.json"])
    active, revoked = import_gitlab_tokens(ImportRequest(path), ctx).records
    assert active.external_id == "gitlab:pat:41" and active.privilege == "write" and active.active is True
    assert active.expires_at is None and active.function == "tags releases"
    assert revoked.active is False and revoked.privilege == "read"
    project = import_gitlab_tokens(ImportRequest(path, {"kind": "project"}), ctx).records[0]
    assert project.kind == "project-access-token"
    with pytest.raises(ImporterError, match="not a GitLab access token"):
        import_gitlab_tokens(ImportRequest(_write(tmp_path, "bad.json", '[{"name": "x"}]')), ctx)


def test_k8s_secrets_values_fingerprinted_never_kept(tmp_path: Path, ctx: ImportContext) -> None:
    s = scenario()
    result = import_k8s_secrets(ImportRequest(_write(tmp_path, "k.json", s.imports["k8s-secrets.json"])), ctx)
    fp = Fingerprinter(KEY)
    stripe = [r for r in result.records if r.provider == "stripe"]
    assert {r.token_id for r in stripe} == {fp.token_id(s.tokens["stripe_live"].encode())}  # trailing \n ignored
    assert {r.environment for r in stripe} == {"production", "staging"} and stripe[0].service in ("payments",
                                                                                                  "checkout")
    db = next(r for r in result.records if r.name == "orders-prod/db#password")
    assert db.token_id == fp.token_id(s.tokens["db_password"].encode()) and db.provider == "unknown"
    assert not any("helm" in (r.name or "") for r in result.records)
    assert not any(p in repr(result) for p in s.plaintexts)


def test_parse_time_formats() -> None:
    assert parse_time("2024-05-01T10:00:00+00:00") == parse_time("2024-05-01T10:00:00Z")
    assert parse_time("2024-05-01T10:00:00.123456789Z") is not None  # Vault's nanoseconds
    assert parse_time("N/A") is None and parse_time("no_information") is None and parse_time("garbage") is None
    assert parse_time(1700000000) is not None


@pytest.mark.parametrize("body", ["{}", "[]", '[{"id": 1}]', '{"kind": "List"}', '[1, 2]', '"secrets"',
                                  '{"kind": "List", "items": [{"kind": "ConfigMap"}]}',
                                  '[{"kind": "Secret", "metadata": "x", "data": "y"}]'])
def test_malformed_k8s_secrets_are_refused_with_the_expected_shape(tmp_path: Path, body: str) -> None:
    from typer.testing import CliRunner

    from tokenward.cli.main import app

    path = _write(tmp_path, "k.json", body)
    result = CliRunner().invoke(app, ["import", "k8s-secrets", path, "--db", str(tmp_path / "inv.db")],
                                env={"TOKENWARD_KEY": "11" * 32})
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert "expected `kubectl get secrets" in result.output or "not a list of Kubernetes" in result.output
    assert "imported" not in result.output


def test_malformed_provider_listings_are_refused(tmp_path: Path, ctx: ImportContext) -> None:
    for body in ('[1, "x"]', '"tokens"', '{"tokens": 3}'):
        for importer in (import_github_tokens, import_gitlab_tokens):
            with pytest.raises(ImporterError, match=r"expected a list of tokens|expected a JSON list of tokens"):
                importer(ImportRequest(_write(tmp_path, "l.json", body)), ctx)
    empty = import_k8s_secrets(ImportRequest(_write(tmp_path, "e.json", '{"kind": "List", "items": []}')), ctx)
    assert empty.records == ()  # kubectl's answer when there are no secrets


def test_a_non_hex_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from tokenward.errors import IdentityError
    from tokenward.identity import load_key

    for value in ("correct horse battery staple, long enough", "zz" * 32, "abc"):
        monkeypatch.setenv("TOKENWARD_KEY", value)
        with pytest.raises(IdentityError, match=r"hexadecimal|at least 16 bytes"):
            load_key()
    monkeypatch.setenv("TOKENWARD_KEY", "ab" * 32)
    assert load_key() == bytes.fromhex("ab" * 32)
