"""`tokenward monitor`, `monitor --explain`, `usage` and `scopes suggest` end to end."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from tests import usage_samples as s
from tests.test_usage_detectors import DE, workday
from tokenward.cli.main import app
from tokenward.usage.identity import unmapped_id
from tokenward.usage.scopes import advise, minimal

runner = CliRunner()


def stolen_key_trail(tmp_path: Path) -> tuple[Path, str]:
    """Three weeks of CI use of one AWS key, then use from another country with a scanner."""
    key = s.aws_key_id(random.Random(31))
    recs, at = [], s.T0
    rng = random.Random(3)
    for day in range(21):
        for hour in range(24):
            at = s.T0 + timedelta(days=day, hours=hour, minutes=rng.randrange(60))
            name = rng.choice(["GetObject", "PutObject"])
            recs.append(s.cloudtrail_record(key, at, name, event_id=f"e{day}-{hour}"))
    bad = workday(at)
    recs.append(s.cloudtrail_record(key, bad, "ListBuckets", ip=DE, agent="aws-cli/2.15 Linux/6.6.9-kali1-amd64",
                                    event_id="stolen-1"))
    recs.append(s.cloudtrail_record(key, bad + timedelta(minutes=1), "CreateUser", "iam.amazonaws.com", ip=DE,
                                    agent="aws-cli/2.15 Linux/6.6.9-kali1-amd64", error="AccessDenied",
                                    event_id="stolen-2"))
    return s.cloudtrail_file(tmp_path / "AWSLogs/1/CloudTrail/eu-west-1/2025/03/x.json.gz", recs), key


def test_monitor_alerts_explain_usage_and_scopes(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'inv.db'}"
    trail, key = stolen_key_trail(tmp_path)
    result = runner.invoke(app, ["monitor", str(tmp_path / "AWSLogs"), "--db", db, "--alerts", "jsonl",
                                 "--workers", "2"])
    assert result.exit_code == 1, result.output
    alerts = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    found = {a["detector"] for a in alerts}
    assert {"new-country", "bad-agent"} <= found
    assert all(a["public_id"] == key and a["preview"] == key for a in alerts)  # the key id is shown whole
    assert "tokens seen in use but never declared" in result.stderr
    country = next(a for a in alerts if a["detector"] == "new-country")
    explained = runner.invoke(app, ["monitor", "--explain", country["alert_id"][:8], "--db", db])
    assert explained.exit_code == 0, explained.output
    assert "baseline at the time" in explained.stdout and "stolen-1" in explained.stdout
    assert "GB" in explained.stdout and DE in explained.stdout

    token_id = unmapped_id("aws_key_id", key)
    profile = runner.invoke(app, ["usage", token_id[:10], "--db", db])
    assert profile.exit_code == 0, profile.output
    assert "countries GB" in profile.stdout and "s3:GetObject" in profile.stdout and "alerts" in profile.stdout
    as_json = json.loads(runner.invoke(app, ["usage", token_id[:10], "--db", db, "--json"]).stdout)
    assert as_json["events"] == 21 * 24 + 2 and as_json["countries"][0][0] == "GB"

    advice = runner.invoke(app, ["scopes", "suggest", token_id[:10], "--db", db, "--granted", "s3:*,iam:*", "--json"])
    assert advice.exit_code == 0, advice.output
    data = json.loads(advice.stdout)
    assert data["suggested"] == ["s3:GetObject", "s3:ListBuckets", "s3:PutObject"]  # iam:CreateUser was denied
    assert data["unused"] == ["iam:*", "s3:*"] and data["over_scoped"] is True
    assert '"s3:GetObject"' in data["policy"]
    again = runner.invoke(app, ["monitor", str(trail), "--db", db, "--quiet"])
    assert again.exit_code == 0 and "0 events" in again.stderr  # already read: nothing counted twice


def test_monitor_stdin_and_errors(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'inv.db'}"
    lines = "".join(json.dumps({"ts": 1741000000 + i, "token_id": "9a" * 32, "action": "GET /x"}) + "\n"
                    for i in range(5))
    result = runner.invoke(app, ["monitor", "-", "--db", db], input=lines + "not json\n")
    assert result.exit_code == 0, result.output
    assert "5 events, 1 malformed lines" in result.stderr
    since = runner.invoke(app, ["monitor", "-", "--db", db, "--since", "2025-03-03T11:06:42Z"], input=lines)
    assert since.exit_code == 0 and "3 events" in since.stderr  # 1741000000 + 2 is 11:06:42 UTC
    bad = runner.invoke(app, ["monitor", "-", "--db", db, "--format", "syslog"], input=lines)
    assert bad.exit_code == 2 and "unknown --format" in bad.output
    missing = runner.invoke(app, ["monitor", str(tmp_path / "nope.log"), "--db", db])
    assert missing.exit_code == 2 and "no such file" in missing.output
    assert runner.invoke(app, ["monitor", "--db", db]).exit_code == 2
    assert runner.invoke(app, ["monitor", "--explain", "ffff", "--db", db]).exit_code == 2


def test_honeytoken_option(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'inv.db'}"
    tid = "3c" * 32
    log = tmp_path / "app.jsonl"
    log.write_text(json.dumps({"ts": 1741000000, "token_id": tid, "ip": DE, "action": "GET /admin"}) + "\n")
    result = runner.invoke(app, ["monitor", str(log), "--db", db, "--honeytoken", tid])
    assert result.exit_code == 1 and "[CRITICAL] honeytoken" in result.stdout


def test_github_scope_advice() -> None:
    a = advise("t", "github", ["git.clone", "git.push", "GET /orgs/:id/members", "hook.create"],
               ["repo", "admin:org", "delete_repo", "admin:repo_hook"])
    assert a.suggested == ("admin:repo_hook", "read:org", "repo")
    assert a.unused == ("admin:org", "delete_repo") and a.over_scoped
    assert minimal(["read:org", "admin:org"], {"admin:org": {"read:org"}}) == ["admin:org"]


def test_gitlab_scope_advice() -> None:
    used = ["GET /api/v4/projects/:id/issues", "GET /group/app.git/info/refs", "POST /group/app.git/git-upload-pack"]
    a = advise("t", "gitlab", used, ["api", "write_repository"])
    assert a.suggested == ("read_api",) and a.unused == ("api", "write_repository")
    b = advise("t", "http", ["PUT /api/v4/projects/:id", "POST /group/app.git/git-receive-pack"], [])
    assert b.provider == "gitlab" and b.suggested == ("api",)


def test_review_reads_last_use_and_needed_scopes(tmp_path: Path) -> None:
    from tokenward.policy.usage import load_usage

    db = f"sqlite:///{tmp_path / 'inv.db'}"
    _, key = stolen_key_trail(tmp_path)
    assert runner.invoke(app, ["monitor", str(tmp_path / "AWSLogs"), "--db", db, "-q"]).exit_code == 1
    view, note = load_usage(db)
    assert note is None
    last = view.last_used(("unknown", key))  # found by the AWS key id alone
    assert last is not None and last.year == 2025
    assert view.used_scopes((key,)) == {"s3:GetObject", "s3:PutObject", "s3:ListBuckets"}
    assert view.used_scopes(("nothing",)) is None
    empty, _ = load_usage(f"sqlite:///{tmp_path / 'other.db'}")
    assert empty.last_used((key,)) is None
