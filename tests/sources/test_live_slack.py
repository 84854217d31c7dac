"""slack://: a fake Web API (documented shapes: ok/error, cursor pages, threads, files, 429 + Retry-After)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_servers import FakeApi, Reply, Request, assert_no_plaintext, details, run_scan
from tests.tokens import TokenFactory

PAGE = 2  # the fake pages by 2 whatever limit is asked, so pagination is exercised


class FakeSlack:
    """Workspace state plus the Web API methods tokenward calls."""

    def __init__(self) -> None:
        self.token = "xoxb-test-" + secrets.token_hex(12)  # built at test time, never a literal
        self.tokens = [TokenFactory(seed).github_classic() for seed in (21, 22, 23, 24)]
        self.channels: dict[str, dict[str, Any]] = {
            "C0GENERAL1": {"name": "general", "messages": []},
            "C0RANDOM01": {"name": "random", "messages": []},
            "C0PRIVATE1": {"name": "secret-ops", "messages": [], "forbidden": True},
        }
        self.replies: dict[str, list[dict[str, Any]]] = {}
        self.files: dict[str, bytes] = {}
        self.throttled = False  # the first paged history call gets one 429
        self.api = FakeApi(self.handle)
        general = self.channels["C0GENERAL1"]["messages"]
        general += [_msg("1700000001.000100", "U1", "standup at 10"),
                    _msg("1700000002.000200", "U2", f"use GITHUB_TOKEN={self.tokens[0]} for CI"),
                    _msg("1700000003.000300", "U1", "thread about deploys", reply_count=1),
                    _msg("1700000004.000400", "U2", "here is the env file", files=[self._file("F1", "prod.env")])]
        self.replies["1700000003.000300"] = [
            _msg("1700000003.000300", "U1", "thread about deploys", thread_ts="1700000003.000300"),
            _msg("1700000003.000350", "U2", f"token: {self.tokens[1]}", thread_ts="1700000003.000300")]
        self.files["F1"] = f"DEPLOY_TOKEN={self.tokens[2]}\n".encode()
        self.channels["C0RANDOM01"]["messages"] += [_msg("1700000005.000500", "U1", "lunch?")]

    def _file(self, fid: str, name: str) -> dict[str, Any]:
        return {"id": fid, "name": name, "size": 60, "permalink": f"https://acme.slack.com/files/U2/{fid}/{name}",
                "url_private_download": f"{{base}}/files-pri/{fid}/{name}"}

    def handle(self, req: Request) -> Reply:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        if req.path.startswith("/files-pri/"):
            return Reply(raw=self.files[req.path.split("/")[2]], headers={"Content-Type": "text/plain"})
        method = req.path.strip("/")
        handler = getattr(self, method.replace(".", "_"), None)
        return handler(req) if handler else Reply(200, {"ok": False, "error": "unknown_method"})

    def auth_test(self, req: Request) -> Reply:
        return Reply(body={"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "team_id": "T0ACME"})

    def users_list(self, req: Request) -> Reply:
        return Reply(body={"ok": True, "members": [{"id": "U1", "real_name": "Ada"}, {"id": "U2", "name": "bob"}],
                           "response_metadata": {"next_cursor": ""}})

    def conversations_list(self, req: Request) -> Reply:
        chans = [{"id": cid, "name": c["name"]} for cid, c in self.channels.items()]
        return _page(chans, req, "channels")

    def conversations_history(self, req: Request) -> Reply:
        channel = self.channels[req.query["channel"]]
        if channel.get("forbidden"):
            return Reply(body={"ok": False, "error": "not_in_channel"})
        if req.query.get("cursor") and not self.throttled:
            self.throttled = True
            return Reply(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "1"})
        oldest = req.query.get("oldest", "")
        newest_first = sorted((m for m in channel["messages"] if m["ts"] > oldest), key=lambda m: m["ts"],
                              reverse=True)
        return _page([self._resolved(m) for m in newest_first], req, "messages")

    def conversations_replies(self, req: Request) -> Reply:
        return _page(self.replies[req.query["ts"]], req, "messages")

    def _resolved(self, msg: dict[str, Any]) -> dict[str, Any]:
        files = [{**f, "url_private_download": f["url_private_download"].replace("{base}", self.api.url)}
                 for f in msg.get("files", [])]
        return {**msg, "files": files} if files else msg


def _msg(ts: str, user: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "ts": ts, "user": user, "text": text, **extra}


def _page(items: list[Any], req: Request, key: str) -> Reply:
    start = int(req.query.get("cursor") or 0)
    more = start + PAGE < len(items)
    return Reply(body={"ok": True, key: items[start:start + PAGE], "has_more": more,
                       "response_metadata": {"next_cursor": str(start + PAGE) if more else ""}})


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    fake = FakeSlack()
    monkeypatch.setenv("TOKENWARD_SLACK_BASE_URL", fake.api.url)
    monkeypatch.setenv("SLACK_TOKEN", fake.token)
    yield fake
    fake.api.close()


def test_messages_threads_and_files_found_with_permalinks(slack: FakeSlack, tmp_path: Path) -> None:
    db = tmp_path / "inv.db"
    code, report, output = run_scan(["slack://acme?channels=general,random,secret-ops", "--db", str(db)],
                                    tmp_path / "r.json")
    assert code == 1, output
    found = {f["preview"][-4:]: f["source"] for f in report["findings"]}
    assert {t[-4:] for t in slack.tokens[:3]} <= set(found)
    by_ts = {d["permalink"]: d for d in details(report)}
    assert "https://acme.slack.com/archives/C0GENERAL1/p1700000002000200" in by_ts
    reply = "https://acme.slack.com/archives/C0GENERAL1/p1700000003000350?thread_ts=1700000003.000300&cid=C0GENERAL1"
    assert by_ts[reply]["channel"] == "#general" and by_ts[reply]["user"] == "bob"
    assert any(d.get("file") == "prod.env" and d.get("file_id") == "F1" for d in details(report))
    skipped = {s["location"]: s for s in report["skipped"]}
    assert "not_in_channel" in skipped["slack://acme/#secret-ops"]["reason"]
    assert skipped["slack://acme/#secret-ops"]["severity"] == "error"
    paged = [r for r in slack.api.requests("/conversations.history") if r.query.get("cursor")]
    assert len(paged) >= 2 and paged[1].at - paged[0].at >= 0.95  # Retry-After: 1 was honoured
    assert_no_plaintext([*slack.tokens, slack.token], tmp_path / "r.json", db, output)


def test_rerun_reads_only_new_messages_and_full_reads_all(slack: FakeSlack, tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "inv.db")]
    run_scan(["slack://acme?channels=general", *db], tmp_path / "1.json")
    slack.channels["C0GENERAL1"]["messages"].append(
        _msg("1700000009.000900", "U1", f"new one GITHUB_TOKEN={slack.tokens[3]}"))
    code, report, _ = run_scan(["slack://acme?channels=general", *db], tmp_path / "2.json")
    assert code == 1
    assert [f["preview"][-4:] for f in report["findings"]] == [slack.tokens[3][-4:]]
    assert report["summary"]["blobs_scanned"] == 1
    assert slack.api.requests("/conversations.history")[-1].query["oldest"] == "1700000004.000400"
    _, again, _ = run_scan(["slack://acme?channels=general", *db], tmp_path / "3.json")
    assert again["summary"]["blobs_scanned"] == 0
    _, full, _ = run_scan(["slack://acme?channels=general", *db, "--full"], tmp_path / "4.json")
    assert len({f["token_id"] for f in full["findings"]}) == 4


def test_expired_credential_is_an_unreadable_input(slack: FakeSlack, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-expired-" + secrets.token_hex(6))
    code, report, output = run_scan(["slack://acme", "--no-db"], tmp_path / "r.json")
    assert code == 3, output
    [skip] = report["skipped"]
    assert "rejected the credential" in skip["reason"] and "SLACK_TOKEN" in skip["reason"]


def test_credential_from_auth_file_only(slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_TOKEN")
    auth = tmp_path / "auth.env"
    auth.write_text(f"# tokenward live credentials\nexport SLACK_TOKEN='{slack.token}'\n")
    auth.chmod(0o644)
    code, _, output = run_scan(["slack://acme?channels=general", "--no-db", "--auth-file", str(auth)], tmp_path / "r")
    assert code == 2 and "chmod 600" in output
    auth.chmod(0o600)
    code, report, _ = run_scan(["slack://acme?channels=general", "--no-db", "--auth-file", str(auth)], tmp_path / "r")
    assert code == 1 and report["findings"]


def test_credentials_in_the_url_are_refused(tmp_path: Path) -> None:
    code, _, output = run_scan(["slack://user:pw@acme", "--no-db"], tmp_path / "r.json")
    assert code == 2 and "never taken from the command line" in output and "pw" not in output


def test_malformed_body_costs_one_channel(slack: FakeSlack, tmp_path: Path) -> None:
    original = slack.handle

    def broken(req: Request) -> Reply:
        if req.path == "/conversations.history" and req.query.get("channel") == "C0RANDOM01":
            return Reply(raw=b"<html>502 Bad Gateway</html>")
        return original(req)

    slack.api.handle = broken
    code, report, _ = run_scan(["slack://acme?channels=C0GENERAL1,C0RANDOM01", "--no-db"], tmp_path / "r.json")
    assert code == 1 and report["findings"]
    assert any("malformed JSON" in s["reason"] for s in report["skipped"])
