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
