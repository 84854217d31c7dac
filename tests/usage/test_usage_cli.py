"""`tokenward monitor`, `monitor --explain`, `usage` and `scopes suggest` end to end."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from tests import usage_samples as s
from tests.usage.test_usage_detectors import DE, workday
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


def test_bad_since_and_grace_are_one_line_usage_errors(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'inv.db'}"
    log = tmp_path / "e.jsonl"
    log.write_text(json.dumps({"ts": 1741000000, "token_id": "9a" * 32, "action": "GET /x"}) + "\n")
    for value in ("bogus", "-5d", "2026-13-45", "10000-01-01", "99999999d", "99999999999999999999w", ""):
        result = runner.invoke(app, ["monitor", str(log), "--db", db, f"--since={value}"])
        assert result.exit_code == 2 and isinstance(result.exception, SystemExit), (value, result.output)
        assert "--since" in result.output and len(result.output.strip().splitlines()) == 1, result.output
    for value in ("soon", "0x10m", "99999999d"):
        result = runner.invoke(app, ["monitor", str(log), "--db", db, f"--grace={value}"])
        assert result.exit_code == 2 and "--grace" in result.output, (value, result.output)
    assert not (tmp_path / "inv.db").exists()  # refused before anything was opened
    for value in ("7d", "2025-03-01", "1741000000"):
        ok = runner.invoke(app, ["monitor", str(log), "--db", db, f"--since={value}"])
        assert ok.exit_code == 0, (value, ok.output)


def test_corrupt_gzip_logs_exit_3(tmp_path: Path) -> None:
    import gzip

    db = f"sqlite:///{tmp_path / 'inv.db'}"
    body = "".join(json.dumps({"ts": 1741000000 + i, "token_id": "9a" * 32, "action": "GET /x"}) + "\n"
                   for i in range(2000)).encode()
    packed = gzip.compress(body)
    logs = {"half": packed[:len(packed) // 2], "header-only": packed[:15], "garbage": packed[:10] + b"garbage" * 9}
    for name, data in logs.items():
        (tmp_path / f"{name}.jsonl.gz").write_bytes(data)
        result = runner.invoke(app, ["monitor", str(tmp_path / f"{name}.jsonl.gz"), "--db", db])
        assert result.exit_code == 3, (name, result.output)
        assert "empty" not in result.stderr and ("unreadable" in result.stderr or "stopped early" in result.stderr)
    (tmp_path / "good.jsonl.gz").write_bytes(packed)
    assert runner.invoke(app, ["monitor", str(tmp_path / "good.jsonl.gz"), "--db", db]).exit_code == 0
    both = runner.invoke(app, ["monitor", str(tmp_path / "half.jsonl.gz"), str(tmp_path / "header-only.jsonl.gz"),
                               "--workers", "2", "--db", f"sqlite:///{tmp_path / 'other.db'}"])
    assert both.exit_code == 3, both.output


def test_undelivered_webhook_alerts_exit_3_and_are_replayed(tmp_path: Path, isolated_home: Path) -> None:
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    got: list[dict[str, object]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free, and nothing listens there until the server below
    db = f"sqlite:///{tmp_path / 'inv.db'}"
    trail, _ = stolen_key_trail(tmp_path)
    hook = f"webhook:http://127.0.0.1:{port}/secret-path"
    failed = runner.invoke(app, ["monitor", str(trail), "--db", db, "--alerts", hook])
    assert failed.exit_code == 3, failed.output
    assert "not delivered (ConnectError)" in failed.stderr and "secret-path" not in failed.stderr
    (spool,) = (isolated_home / "data" / "tokenward" / "spool").iterdir()
    kept = [json.loads(line)["alert_id"] for line in spool.read_text().splitlines()]
    assert len(kept) >= 2 and oct(spool.stat().st_mode & 0o777) == "0o600"

    server = HTTPServer(("127.0.0.1", port), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        replayed = runner.invoke(app, ["monitor", str(trail), "--db", db, "--alerts", hook])
    finally:
        server.shutdown()
        server.server_close()
    assert replayed.exit_code == 0, replayed.output  # the log was read already: no new alert
    assert f"delivered {len(kept)} alert(s) kept from earlier runs" in replayed.stderr
    assert [g["alert"]["alert_id"] for g in got] == kept  # type: ignore[index]
    assert not spool.exists()


def test_an_aws_key_pair_is_one_credential_found_by_its_key_id(tmp_path: Path) -> None:
    import string

    from tests.tokens import TokenFactory

    factory = TokenFactory(5)
    key_id, secret = factory.aws_key_id(), factory.chars(string.ascii_letters + string.digits + "+/", 40)
    env = {"TOKENWARD_KEY": "11" * 32}
    db = ["--db", str(tmp_path / "inv.db")]
    (tmp_path / "early").mkdir()
    (tmp_path / "early" / "notes.txt").write_text(f"the deploy key is {key_id}\n")  # the id alone, first
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "credentials").write_text(
        f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n")
    assert runner.invoke(app, ["scan", str(tmp_path / "early"), "-q", *db], env=env).exit_code == 1
    assert runner.invoke(app, ["scan", str(tmp_path / "creds"), "-q", *db], env=env).exit_code == 1
    listed = runner.invoke(app, ["inventory", "list", "--provider", "aws", *db], env=env).stdout.splitlines()[1:]
    pair = [row for row in listed if "secret-access-key" in row]
    assert len(pair) == 1 and "  2  " in pair[0], listed  # the key id's line is an occurrence of the pair
    bare = [row.split()[0] for row in listed if "access-key-id" in row]
    assert len(bare) == 1  # the id seen alone before its secret stays a record of its own
    trail = s.cloudtrail_file(tmp_path / "trail" / "x.json.gz",
                              [s.cloudtrail_record(key_id, s.T0 + timedelta(hours=i), event_id=f"e{i}")
                               for i in range(5)])
    assert runner.invoke(app, ["monitor", str(trail), *db, "-q"], env=env).exit_code == 0
    for name in (key_id, pair[0].split()[0], bare[0]):
        view = runner.invoke(app, ["usage", name, "--json", *db], env=env)
        assert view.exit_code == 0, (name, view.output)
        data = json.loads(view.stdout)
        assert data["events"] == 5 and data["public_id"] == key_id and data["token_id"].startswith(pair[0].split()[0])
    shown = runner.invoke(app, ["inventory", "show", key_id, *db], env=env)
    assert shown.exit_code == 0 and "secret-access-key" in shown.stdout


def test_monitor_says_when_baselines_are_still_learning(tmp_path: Path) -> None:
    key = s.aws_key_id(random.Random(77))
    recs = [s.cloudtrail_record(key, s.T0, "ListBuckets", ip=DE, agent="aws-cli/2.15 Linux/6.6.9-kali1-amd64",
                                event_id="x1"),
            s.cloudtrail_record(key, s.T0 + timedelta(minutes=1), "CreateUser", "iam.amazonaws.com", ip=DE,
                                agent="python-requests/2.31", error="AccessDenied", event_id="x2")]
    trail = s.cloudtrail_file(tmp_path / "t" / "x.json.gz", recs)
    result = runner.invoke(app, ["monitor", str(trail), "--db", f"sqlite:///{tmp_path / 'inv.db'}"])
    assert "baseline still learning" in result.stderr, result.stderr
    assert key in result.stderr and "new-country" in result.stderr and "sensitive-action" in result.stderr


def test_out_of_range_and_float_epoch_times(tmp_path: Path) -> None:
    """Float epoch milliseconds are scaled like integer ones; times no datetime can hold (1e308, negative,
    'nan' seconds) are malformed lines, never a traceback (both JSON-lines paths: typed and general)."""
    db = f"sqlite:///{tmp_path / 'inv.db'}"
    tid = "9a" * 32
    good = [{"ts": 1741000000123.5, "token_id": tid, "action": "GET /x"},  # milliseconds, as a float
            {"ts": 1741000001.25, "token_id": tid, "action": "GET /x", "extra": {"nested": 1}}]  # general path
    bad = [{"ts": 1e308, "token_id": tid}, {"ts": -5.0, "token_id": tid},
           {"ts": "2025-03-03T11:06:nanZ", "token_id": tid}, {"ts": "2025-03-03T11:06:infZ", "token_id": tid},
           {"ts": 1e308, "token_id": tid, "extra": {"nested": 1}}]
    lines = "".join(json.dumps(r) + "\n" for r in good + bad)
    result = runner.invoke(app, ["monitor", "-", "--db", db, "--format", "jsonl"], input=lines)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 0, result.output
    assert "2 events, 5 malformed lines" in result.stderr
    usage = json.loads(runner.invoke(app, ["usage", tid[:10], "--db", db, "--json"]).stdout)
    assert "2025-03-03" in json.dumps(usage)  # the float milliseconds landed on the right day
