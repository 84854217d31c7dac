"""End to end: scan a git project with leaks, import the manifest and provider listings, review in every
format — the right violations, owners and joins; SARIF valid; HTML renders in Chromium; no plaintext anywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from tests.browser import chromium_page
from tests.conftest import DATA
from tests.review_samples import Scenario, scenario, shared_rule_cache, write_imports, write_project
from tokenward.cli.main import app

KEY_HEX = "5a" * 32
FORMATS = ("text", "json", "sarif", "md", "html")


@dataclass
class Built:
    """The scenario, its inventory and every rendered review."""

    s: Scenario
    db: Path
    outputs: dict[str, str]
    exit_codes: dict[str, int]
    root: Path


def _invoke(runner: CliRunner, env: dict[str, str], *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    root = tmp_path_factory.mktemp("review")
    s = scenario()
    repo, logs = write_project(s, root)
    files = write_imports(s, root / "imports")
    db = root / "inventory.db"
    env = {"TOKENWARD_KEY": KEY_HEX, "TOKENWARD_DB": str(db), "XDG_CONFIG_HOME": str(root / "config"),
           "XDG_CACHE_HOME": str(shared_rule_cache(tmp_path_factory.getbasetemp())),
           "XDG_DATA_HOME": str(root / "data"), **s.env}
    runner = CliRunner()
    steps = [("scan", "-q", str(repo)), ("scan", "-q", str(logs)),
             ("import", "manifest", str(files["tokens.yaml"])),
             ("import", "aws-credential-report", str(files["credential-report.csv"]), "--access-keys",
              str(files["access-keys.json"])),
             ("import", "github-tokens", str(files["github-tokens.json"])),
             ("import", "gitlab-tokens", str(files["gitlab-tokens.json"])),
             ("import", "k8s-secrets", str(files["k8s-secrets.json"]))]
    for step in steps:
        code, out = _invoke(runner, env, *step)
        assert code in (0, 1), (step, out)
    outputs, codes = {}, {}
    for fmt in FORMATS:
        out_file = root / f"review.{fmt}"
        codes[fmt], _ = _invoke(runner, env, "review", "-f", fmt, "-o", str(out_file))
        outputs[fmt] = out_file.read_text()
    yield Built(s, db, outputs, codes, root)


def _doc(b: Built) -> dict[str, object]:
    return json.loads(b.outputs["json"])  # type: ignore[no-any-return]


def _violations(b: Built, check: str) -> list[dict[str, object]]:
    return [v for v in _doc(b)["violations"] if v["check"] == check]  # type: ignore[attr-defined, index]


def test_leaked_and_active_is_critical_and_joined(built: Built) -> None:
    crit = {v["token_label"]: v for v in _violations(built, "leaked-and-active")}
    assert set(crit) == {"deploy-bot-github", "ci-deployer-aws", "release-job-gitlab"}
    assert all(v["severity"] == "critical" for v in crit.values())
    aws = crit["ci-deployer-aws"]
    assert "aws iam update-access-key --user-name ci-deployer" in str(aws["remediation"])
    tokens = {t["label"]: t for t in _doc(built)["tokens"]}  # type: ignore[attr-defined]
    assert set(tokens["deploy-bot-github"]["origins"]) == {"scan", "manifest", "github"}
    assert set(tokens["payments-stripe"]["origins"]) == {"scan", "manifest", "k8s"}


def test_owner_mapping_precedence(built: Built) -> None:
    tokens = {t["preview"]: t for t in _doc(built)["tokens"]}  # type: ignore[attr-defined]
    t = built.s.tokens
    by_suffix = {p[-4:]: tok for p, tok in tokens.items()}
    assert by_suffix[t["github"][-4:]]["owner"]["basis"] == "manifest"
    slack = by_suffix[t["slack"][-4:]]
    assert slack["owner"] == {"name": "@acme/backend", "basis": "codeowners",
                              "evidence": ".github/CODEOWNERS:2 /app/ matches app/slack.py"}
    assert slack["exposure"]["history_only"] is True
    assert by_suffix[t["sendgrid"][-4:]]["owner"] is None  # a CI log outside git: unmapped
    assert by_suffix[t["stripe_test"][-4:]]["owner"]["basis"] == "codeowners"


def test_policy_checks_fire_with_evidence(built: Built) -> None:
    over = {v["token_label"]: v for v in _violations(built, "over-scoped")}
    assert "Drop admin:org" in str(over["deploy-bot-github"]["remediation"])
    assert "Drop api" in str(over["release-job-gitlab"]["remediation"])
    assert any("root" in str(e) for e in over["<root_account> key 1"]["evidence"])  # type: ignore[attr-defined]
    assert {v["token_label"] for v in _violations(built, "test-in-production")} == {
        next(x["label"] for x in _doc(built)["tokens"] if x["environment"] == "test")}  # type: ignore[attr-defined]
    assert [v["token_label"] for v in _violations(built, "reused")] == ["payments-stripe"]
    assert {"<root_account> key 1", "mona-admin-script"} <= {v["token_label"] for v in _violations(built, "dormant")}
    assert any(v["token_label"] == "release-job-gitlab" for v in _violations(built, "long-lived"))
    assert any(v["token_label"] == "ci-deployer-aws" for v in _violations(built, "rotation-overdue"))
    storage = {v["token_label"] for v in _violations(built, "wrong-storage")}
    assert {"ci-deployer-aws", "payments-stripe"} <= storage
    summary = _doc(built)["summary"]
    assert summary["active_and_leaked"] == 3 and summary["unmapped"] >= 2  # type: ignore[index]


def test_every_format_written_and_fail_on(built: Built) -> None:
    assert all(code == 1 for code in built.exit_codes.values())  # criticals ≥ the default fail_on (high)
    assert "leaked-and-active" in built.outputs["text"] and "| critical | leaked-and-active |" in built.outputs["md"]
    runner = CliRunner()
    env = {"TOKENWARD_KEY": KEY_HEX, "TOKENWARD_DB": str(built.db)}
    assert runner.invoke(app, ["review", "--fail-on", "none"], env=env).exit_code == 0
    policy = built.root / "policy.yaml"
    policy.write_text("checks:\n  leaked-and-active: {enabled: false}\n  leaked: {enabled: false}\n"
                      "  over-scoped: {severity: low}\n  wrong-storage: {severity: low}\n"
                      "  reused: {severity: low}\nfail_on: critical\n")
    assert runner.invoke(app, ["review", "--policy", str(policy)], env=env).exit_code == 0


def test_sarif_is_valid(built: Built) -> None:
    schema = json.loads((DATA / "sarif-2.1.0.json").read_text())
    doc = json.loads(built.outputs["sarif"])
    jsonschema.validate(doc, schema)
    rules = {r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert "policy/leaked-and-active" in rules and doc["runs"][0]["results"]


def test_no_plaintext_in_any_output_or_the_database(built: Built) -> None:
    blobs = [o.encode() for o in built.outputs.values()]
    blobs += [p.read_bytes() for p in built.db.parent.glob("inventory.db*")]
    for secret in built.s.plaintexts:
        for blob in blobs:
            assert secret.encode() not in blob


def test_html_review_renders_offline_in_chromium(built: Built, tmp_path: Path) -> None:
    html = built.root / "review.html"
    with chromium_page() as page:
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(html.as_uri())
        assert page.inner_text("#summary").split()[:2] == [str(_doc(built)["summary"]["tokens"]), "TOKENS"]  # type: ignore[index]
        total = len(_doc(built)["violations"])  # type: ignore[arg-type]
        assert page.inner_text("#shown") == f"{total} of {total} shown"
        assert page.locator(".chart svg").count() == 5
        page.select_option("#severity", "critical")
        assert page.inner_text("#shown") == f"3 of {total} shown"
        page.select_option("#severity", "")
        page.fill("#filter", "ci-deployer")
        assert 0 < int(page.inner_text("#shown").split()[0]) < total
        page.fill("#filter", "")
        page.click("#violations th:nth-child(3)")
        assert page.locator("#violations th.sorted-asc").count() == 1
        page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
        assert errors == [] and requests == [html.as_uri()]
