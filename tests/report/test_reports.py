"""Output formats: JSON schema and summary, JSONL, CSV, SARIF 2.1.0 validity, baseline."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from tests.conftest import DATA
from tests.tokens import ALNUM, TokenFactory
from tokenward.cli.main import app

runner = CliRunner()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    f = TokenFactory(31)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "settings.py").write_text(f"GITHUB = '{f.github_classic()}'\nOTHER = 1\n")
    (tmp_path / "app" / ".env").write_text(f"X=1\nGH_TOKEN={f.github_classic()}\n")
    (tmp_path / "app" / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    return tmp_path / "app"


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout


def test_json_document(tree: Path) -> None:
    code, out = run("scan", "-q", "-f", "json", str(tree))
    doc = json.loads(out)
    assert code == 1
    assert doc["tokenward"]["schema_version"] == 1
    assert doc["summary"]["findings"] == 2 and doc["summary"]["skipped"] == {"binary content": 1}
    first = doc["findings"][0]
    assert set(first) >= {"rule_id", "provider", "kind", "confidence", "token_id", "preview", "source", "location"}
    assert "secret" not in first
    assert first["location"] == {"line": 2, "column": 10, "end_line": 2, "end_column": 50}


def test_jsonl_and_csv(tree: Path) -> None:
    _, out = run("scan", "-q", "-f", "jsonl", str(tree))
    lines = [json.loads(x) for x in out.splitlines()]
    assert len(lines) == 2
    _, out = run("scan", "-q", "-f", "csv", str(tree))
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["path"] for r in rows] == [".env", "settings.py"] and "secret" not in rows[0]


def test_sarif_validates_against_schema(tree: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.sarif"
    code, _ = run("scan", "-q", "-f", "sarif", "-o", str(target), str(tree))
    assert code == 1
    doc = json.loads(target.read_text())
    schema = json.loads((DATA / "sarif-2.1.0.json").read_text())
    jsonschema.validate(doc, schema)
    run_ = doc["runs"][0]
    assert [r["id"] for r in run_["tool"]["driver"]["rules"]] == ["github.pat-classic"]
    for result in run_["results"]:
        assert len(result["partialFingerprints"]["tokenId/v1"]) == 64
        assert run_["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    notes = run_["invocations"][0]["toolExecutionNotifications"]
    assert notes[0]["message"]["text"] == "skipped img.png: binary content"


def test_show_secrets_only_on_request(tree: Path) -> None:
    _, out = run("scan", "-q", "-f", "json", "--show-secrets", str(tree))
    assert all(f["secret"].startswith("ghp_") for f in json.loads(out)["findings"])


def test_baseline_reports_only_new_tokens(tree: Path, tmp_path: Path) -> None:
    code, out = run("baseline", "create", str(tree))
    assert code == 0
    baseline = tmp_path / "baseline.json"
    baseline.write_text(out)
    assert "ghp_" not in out
    code, out = run("scan", "-q", "-f", "json", "--baseline", str(baseline), str(tree))
    assert code == 0 and json.loads(out)["summary"]["suppressed"] == {"baseline": 2}
    # Moving a token to another line keeps it baselined (keyed by token, rule, path — not line).
    env = tree / ".env"
    env.write_text("\n\n\n" + env.read_text())
    # A new token is reported.
    (tree / "new.py").write_text(f"T = '{TokenFactory(99).github_classic()}'\n")
    code, out = run("scan", "-q", "-f", "json", "--baseline", str(baseline), str(tree))
    assert code == 1 and [f["source"]["path"] for f in json.loads(out)["findings"]] == ["new.py"]


def test_inline_allow_markers(tmp_path: Path) -> None:
    f = TokenFactory(41)
    markers = ["tokenward:allow", "gitleaks:allow", "pragma: allowlist secret", "kingfisher:ignore",
               "trufflehog:ignore"]
    lines = [f"t{i} = '{f.github_classic()}'  # {m}" for i, m in enumerate(markers)]
    (tmp_path / "a.py").write_text("\n".join(lines) + f"\nkeep = '{f.github_classic()}'\n")
    _, out = run("scan", "-q", "-f", "json", str(tmp_path))
    doc = json.loads(out)
    assert doc["summary"]["suppressed"] == {"inline comment": 5}
    assert [x["location"]["line"] for x in doc["findings"]] == [6]


def test_config_file_exclude_and_allow_paths(tree: Path) -> None:
    (tree / ".tokenward.yaml").write_text("exclude: ['*.py']\nallow_paths: ['.env']\n")
    code, out = run("scan", "-q", "-f", "json", str(tree))
    doc = json.loads(out)
    assert code == 0 and doc["summary"]["suppressed"] == {"allow-listed path": 1}


@pytest.mark.parametrize("body, message", [
    ("exclude: 3\n", "exclude"),
    ("bogus: true\n", "bogus"),
    ("exclude: [\n", "invalid YAML"),
])
def test_bad_config_is_a_clear_usage_error(tree: Path, body: str, message: str) -> None:
    (tree / ".tokenward.yaml").write_text(body)
    result = runner.invoke(app, ["scan", "-q", str(tree)])
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_unknown_format_and_bad_baseline(tree: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", "-f", "xml", str(tree)])
    assert result.exit_code == 2 and "unknown --format" in result.stderr
    bad = tmp_path / "b.json"
    bad.write_text("[1, 2]")
    result = runner.invoke(app, ["scan", "--baseline", str(bad), str(tree)])
    assert result.exit_code == 2 and "not a tokenward baseline" in result.stderr


def test_low_confidence_findings_only_on_request(tmp_path: Path) -> None:
    f = TokenFactory(51)
    (tmp_path / "web.js").write_text(f"const stripe = Stripe('pk_live_{f.chars(ALNUM, 99)}');\n")
    code, out = run("scan", "-q", "-f", "json", str(tmp_path))
    doc = json.loads(out)
    assert code == 0 and doc["summary"]["suppressed"] == {"below --min-confidence medium": 1}
    code, out = run("scan", "-q", "-f", "json", "--min-confidence", "low", str(tmp_path))
    assert code == 1 and [x["confidence"] for x in json.loads(out)["findings"]] == ["low"]
    result = runner.invoke(app, ["scan", "--min-confidence", "some", str(tmp_path)])
    assert result.exit_code == 2 and "--min-confidence" in result.stderr


def test_sarif_uris_are_percent_encoded_with_a_base_per_root(tmp_path: Path) -> None:
    f = TokenFactory(33)
    first, second = tmp_path / "one", tmp_path / "two words"
    (first / "sub").mkdir(parents=True)
    second.mkdir()
    (first / "sub" / "a\\b.env").write_text(f"T={f.github_classic()}\n")  # a backslash is a file-name character
    (second / "c:50% #1.env").write_text(f"T={f.github_classic()}\n")
    target = tmp_path / "out.sarif"
    code, _ = run("scan", "-q", "--no-db", "-f", "sarif", "-o", str(target), str(first), str(second))
    assert code == 1
    doc = json.loads(target.read_text())
    jsonschema.validate(doc, json.loads((DATA / "sarif-2.1.0.json").read_text()))
    run_ = doc["runs"][0]
    locations = sorted((loc["uriBaseId"], loc["uri"]) for loc in (
        r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run_["results"]))
    assert locations == [("ROOT0", "sub/a%5Cb.env"), ("ROOT1", "c%3A50%25%20%231.env")]
    bases = run_["originalUriBaseIds"]
    assert bases["ROOT0"]["uri"] == first.as_uri() + "/"
    assert bases["ROOT1"]["uri"] == second.as_uri() + "/" and "%20" in bases["ROOT1"]["uri"]


def test_markdown_review_escapes_html_in_every_cell() -> None:
    from datetime import UTC, datetime

    from tokenward.policy.model import Review, ReviewSummary, Violation
    from tokenward.report.review_md import render_review_md

    path = '"><img src=x onerror=alert(1)>.env'
    owner = "<script>alert(1)</script>"
    v = Violation("leaked", "high", "1" * 64, f"ghp_…abcd ({path})", "github", owner, f"Leaked in {path}",
                  (f"path: {path}", "agent: ![x](http://evil.example/x.png)"), f"Remove it from {path}", path, 1)
    summary = ReviewSummary(1, 1, 1, 0, 0, 1, {"high": 1})
    review = Review(datetime(2026, 1, 1, tzinfo=UTC), "<b>policy</b>", "db", (), (v,), summary)
    out = io.StringIO()
    render_review_md(review, out)
    md = out.getvalue()
    assert "<img" not in md and "<script" not in md and "<b>" not in md and '"' not in md
    assert "&lt;img src=x onerror=alert(1)&gt;" in md and "&lt;script&gt;" in md
    assert "![x](" not in md  # no image the renderer would fetch
