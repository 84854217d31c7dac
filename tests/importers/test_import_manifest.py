"""tokens.yaml manifest importer: recognition by hashed token, key id, env pointer; errors with file:line:field."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.review_samples import scenario
from tokenward.engine import Matcher
from tokenward.errors import ImporterError
from tokenward.identity import Fingerprinter
from tokenward.importers.interface import ImportContext, ImportRequest
from tokenward.importers.manifest import import_manifest

KEY = bytes(range(32))


def _ctx(matcher: Matcher) -> ImportContext:
    return ImportContext(Fingerprinter(KEY), lambda: matcher)


def test_manifest_records_and_pointer_fingerprint(tmp_path: Path, matcher: Matcher,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    s = scenario()
    path = tmp_path / "tokens.yaml"
    path.write_text(s.imports["tokens.yaml"])
    monkeypatch.setenv("DEMO_STRIPE_KEY", s.tokens["stripe_live"])
    monkeypatch.delenv("DEMO_GITLAB_TOKEN", raising=False)
    result = import_manifest(ImportRequest(str(path)), _ctx(matcher))
    by_name = {r.name: r for r in result.records}
    assert set(by_name) == {"deploy-bot-github", "release-job-gitlab", "ci-deployer-aws", "payments-stripe"}
    gh = by_name["deploy-bot-github"]
    assert gh.owner == "@acme/platform" and gh.purpose == "write" and gh.allowed_scopes == ("repo", "workflow")
    assert gh.max_age_days == 90 and gh.line == 4 and dict(gh.public_ids)["github_hashed_token"]
    assert dict(by_name["ci-deployer-aws"].public_ids)["id"] == s.tokens["aws_id"]
    stripe = by_name["payments-stripe"]
    assert stripe.token_id == Fingerprinter(KEY).token_id(s.tokens["stripe_live"].encode())
    assert stripe.kind == "secret-key" and stripe.preview and stripe.preview.endswith(s.tokens["stripe_live"][-4:])
    assert by_name["release-job-gitlab"].links == ("gitlab:pat:41",)
    assert by_name["release-job-gitlab"].token_id is None  # its env var is unset: noted, not fatal
    assert any("DEMO_GITLAB_TOKEN is not set" in n for n in result.notes)


@pytest.mark.parametrize("body, expected", [
    ("version: 1\ntokens:\n  - name: a\n    provider: github\n    purpose: everything\n    match: {token_id: "
     + "a" * 64 + "}\n", ":5: tokens[0].purpose:"),
    ("version: 1\ntokens:\n  - name: a\n    provider: github\n    match: {}\n", ":5: tokens[0].match:"),
    ("version: 1\ntokens:\n  - name: a\n    provider: aws\n    colour: red\n    match: {aws_key_id: AKIA}\n",
     ":5: tokens[0].colour:"),
    ("version: 1\ntokens:\n  - name: a\n    provider: aws\n    match:\n      aws_key_id: nope\n",
     ":6: tokens[0].match.aws_key_id:"),
    ("version: 1\ntokens:\n  - name: a\n    provider: x\n    max_age_days: -3\n    match: {env: X}\n",
     ":5: tokens[0].max_age_days:"),
    ("version: 1\ntokens: [\n  {name: a\n", "tokens.yaml:"),
])
def test_validation_errors_name_file_line_and_field(tmp_path: Path, matcher: Matcher, body: str,
                                                    expected: str) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text(body)
    with pytest.raises(ImporterError) as err:
        import_manifest(ImportRequest(str(path)), _ctx(matcher))
    assert str(path) in str(err.value) and expected in str(err.value)


def test_duplicate_names_are_rejected(tmp_path: Path, matcher: Matcher) -> None:
    entry = "  - name: a\n    provider: x\n    match: {env: X}\n"
    path = tmp_path / "tokens.yaml"
    path.write_text("tokens:\n" + entry + entry)
    with pytest.raises(ImporterError, match="duplicate token names: a"):
        import_manifest(ImportRequest(str(path)), _ctx(matcher))


def _laughs(levels: int = 9) -> str:
    """A 'billion laughs' document: each level lists the previous one nine times (9**levels leaves, ~300 bytes)."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("body, says", [
    (_laughs(), "expand to more than"),
    ("version: 1\ntokens: &t\n  - name: a\n    provider: github\n    x: *t\n", "recursive YAML alias"),
    ("tokens: " + "[" * 200 + "]" * 200 + "\n", "nested more than"),
    ("#" * (9 << 20) + "\n", "larger than"),
])
def test_yaml_bombs_are_refused_quickly_everywhere(tmp_path: Path, matcher: Matcher, body: str, says: str) -> None:
    import time

    from typer.testing import CliRunner

    from tokenward import yamlsafe
    from tokenward.cli.main import app
    from tokenward.errors import ConfigError, PolicyError, RuleError
    from tokenward.policy.spec import load_policy
    from tokenward.rules.spec import load_rule_file
    from tokenward.settings import load_settings

    path = tmp_path / "bomb.yaml"
    path.write_text(body)
    started = time.monotonic()
    with pytest.raises(ImporterError, match=says):
        import_manifest(ImportRequest(str(path)), _ctx(matcher))
    with pytest.raises(ConfigError, match=says):
        load_settings(path)
    with pytest.raises(PolicyError, match=says):
        load_policy(path, frozenset())
    with pytest.raises(RuleError, match=says):
        load_rule_file(path)
    if len(body) < yamlsafe.MAX_BYTES:
        with pytest.raises(ValueError, match=says):  # a kubeconfig found while scanning
            yamlsafe.load(body.encode(), "kubeconfig", ValueError)
    assert time.monotonic() - started < 5
    result = CliRunner().invoke(app, ["import", "manifest", str(path), "--db", str(tmp_path / "inv.db")],
                                env={"TOKENWARD_KEY": "11" * 32})
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert says in result.output


def test_benign_yaml_anchors_still_load(tmp_path: Path, matcher: Matcher) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text("version: 1\ntokens:\n"
                    "  - &first {provider: github, owner: '@acme/ci', name: a, match: {token_id: " + "a" * 64 + "}}\n"
                    "  - {<<: *first, name: b, match: {token_id: " + "b" * 64 + "}}\n")
    result = import_manifest(ImportRequest(str(path)), _ctx(matcher))
    assert sorted((r.name, r.owner) for r in result.records) == [("a", "@acme/ci"), ("b", "@acme/ci")]


@pytest.mark.parametrize("order", ["scan-then-import", "import-then-scan"])
def test_manifest_owner_is_the_inventory_owner(tmp_path: Path, order: str) -> None:
    import json

    from typer.testing import CliRunner

    from tests.tokens import TokenFactory
    from tokenward.cli.main import app
    from tokenward.identity import github_hashed_token

    secret = TokenFactory(23).github_classic()
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "deploy.env").write_text(f"GITHUB_TOKEN={secret}\n")
    manifest = tmp_path / "tokens.yaml"
    manifest.write_text("version: 1\ntokens:\n  - name: deploy-bot\n    provider: github\n"
                        "    owner: '@acme/payments'\n    match:\n"
                        f"      github_hashed_token: '{github_hashed_token(secret.encode())}'\n")
    runner, db = CliRunner(), ["--db", str(tmp_path / "inv.db")]
    env = {"TOKENWARD_KEY": "11" * 32}
    steps = [["scan", str(tmp_path / "tree"), "-q", *db], ["import", "manifest", str(manifest), *db]]
    for step in steps if order == "scan-then-import" else steps[::-1]:
        result = runner.invoke(app, step, env=env)
        assert result.exit_code in (0, 1), result.output
    listed = runner.invoke(app, ["inventory", "list", *db], env=env)
    (row,) = listed.stdout.splitlines()[1:]
    assert "@acme/payments" in row, listed.stdout
    shown = json.loads(runner.invoke(app, ["inventory", "show", row.split()[0], "-f", "json", *db], env=env).stdout)
    assert shown["token"]["owner"] == "@acme/payments"
    review = json.loads(runner.invoke(app, ["review", "-f", "json", "--fail-on", "none", *db], env=env).stdout)
    assert [t["owner"]["name"] for t in review["tokens"]] == ["@acme/payments"]


def test_an_owner_a_person_assigned_survives_later_imports(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from typer.testing import CliRunner

    from tests.tokens import TokenFactory
    from tokenward.cli.main import app
    from tokenward.identity import Fingerprinter
    from tokenward.store import Inventory
    from tokenward.store.actions import assign_owner

    secret = TokenFactory(24).github_classic()
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "deploy.env").write_text(f"GITHUB_TOKEN={secret}\n")
    runner, db, env = CliRunner(), str(tmp_path / "inv.db"), {"TOKENWARD_KEY": "12" * 32}
    assert runner.invoke(app, ["scan", str(tmp_path / "tree"), "-q", "--db", db], env=env).exit_code == 1
    token_id = Fingerprinter(bytes.fromhex("12" * 32)).token_id(secret.encode())
    with Inventory.open(db) as inv:
        assign_owner(inv, token_id, "@acme/security", "alice", datetime.now(UTC))
    (tmp_path / "tree" / "other.env").write_text(f"TOKEN={secret}\n")  # a new occurrence: owners are resolved again
    assert runner.invoke(app, ["scan", str(tmp_path / "tree"), "-q", "--db", db], env=env).exit_code == 1
    listed = runner.invoke(app, ["inventory", "list", "--db", db], env=env).stdout
    assert "@acme/security" in listed, listed
