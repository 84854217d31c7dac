"""teams://: a fake Microsoft Graph (@odata.nextLink pages, replies, 429 + Retry-After, 5xx, malformed body, 403)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import pytest

from tests.live_servers import FakeApi, Once, Reply, Request, assert_no_plaintext, details, run_scan
from tests.tokens import TokenFactory

TEAM = "2f5e6a3c-1b4d-4e8f-9a0b-c1d2e3f4a5b6"
TENANT = "contoso.onmicrosoft.com"


class FakeGraph:
    """Team Platform: channels General (paged messages with replies), Ops (forbidden), Broken (malformed)."""

    def __init__(self) -> None:
        self.token = "eyJ0eXAi." + secrets.token_hex(20)
        self.client_secret = secrets.token_urlsafe(30)
        self.tokens = [TokenFactory(seed).github_classic() for seed in range(141, 146)]
        self.messages: list[dict[str, Any]] = [
            self._msg("1001", "<p>standup</p>", "2024-03-01T09:00:00Z"),
            self._msg("1002", f"<p>CI token: <code>{self.tokens[0]}</code></p>", "2024-03-01T10:00:00Z"),
            self._msg("1003", "<div>deploy thread</div>", "2024-03-01T11:00:00Z")]
        self.replies: dict[str, list[dict[str, Any]]] = {
            "1003": [self._msg("2001", f"use GITHUB_TOKEN={self.tokens[1]}", "2024-03-01T11:05:00Z", "1003")]}
        self.rate = Once(Reply(429, {"error": {"code": "TooManyRequests"}}, {"Retry-After": "1"}))
        self.flaky = Once(Reply(503, {"error": {"code": "serviceNotAvailable"}}))
        self.api = FakeApi(self.handle)

    def _msg(self, mid: str, content: str, when: str, reply_to: str | None = None) -> dict[str, Any]:
        return {"id": mid, "replyToId": reply_to, "messageType": "message", "createdDateTime": when,
                "lastModifiedDateTime": when, "deletedDateTime": None, "subject": None,
                "body": {"contentType": "html", "content": content}, "from": {"user": {"displayName": "Megan"}},
                "webUrl": f"https://teams.microsoft.com/l/message/19%3Ageneral/{mid}", "attachments": []}

    def handle(self, req: Request) -> Reply:
        if req.method == "POST" and req.path == f"/{TENANT}/oauth2/v2.0/token":
            form = {k: v[-1] for k, v in parse_qs(req.body.decode()).items()}
            if form.get("client_secret") != self.client_secret:
                return Reply(401, {"error": "invalid_client", "error_description": "AADSTS7000215"})
            return Reply(body={"token_type": "Bearer", "expires_in": 3599, "access_token": self.token})
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(401, {"error": {"code": "InvalidAuthenticationToken",
                                         "message": "Lifetime validation failed, the token is expired."}})
        return self.route(req)

    def route(self, req: Request) -> Reply:
        p, chan = unquote(req.path), f"/teams/{TEAM}/channels"
        if p == "/teams" and req.query.get("$filter") == "displayName eq 'Platform'":
            return Reply(body={"value": [{"id": TEAM, "displayName": "Platform"}]})
        if p == chan:
            return Reply(body={"value": [{"id": f"19:{n}@thread.tacv2", "displayName": n}
                                         for n in ("General", "Ops", "Broken")]})
        if failure := self.rate(p.endswith("General@thread.tacv2/messages") and "$skiptoken" in req.query):
            return failure
        if p == f"{chan}/19:Ops@thread.tacv2/messages":
            return Reply(403, {"error": {"code": "Forbidden", "message": "Missing role permissions"}})
        if p == f"{chan}/19:Broken@thread.tacv2/messages":
            return Reply(raw=b'{"value": [{"id": ')
        if p == f"{chan}/19:General@thread.tacv2/messages":
            start = int(req.query.get("$skiptoken") or 0)
            more = {"@odata.nextLink": f"{self.api.url}{p}?$skiptoken={start + 2}"} if start + 2 < len(
                self.messages) else {}
            return Reply(body={"value": self.messages[start:start + 2], **more})
        if p.endswith("/replies"):
            replies = self.replies.get(p.split("/")[-2], [])
            return self.flaky(p.endswith("/1003/replies")) or Reply(body={"value": replies})
        return Reply(404, {"error": {"code": "NotFound"}})


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGraph]:
    fake = FakeGraph()
    monkeypatch.setenv("TOKENWARD_TEAMS_BASE_URL", fake.api.url)
    monkeypatch.setenv("TOKENWARD_TEAMS_LOGIN_BASE_URL", fake.api.url)
    monkeypatch.setenv("TEAMS_TOKEN", fake.token)
    yield fake
    fake.api.close()


def test_channel_messages_and_replies(graph: FakeGraph, tmp_path: Path) -> None:
    db = tmp_path / "inv.db"
    code, report, output = run_scan([f"teams://{TENANT}?team={TEAM}", "--db", str(db)], tmp_path / "r.json")
    assert code == 1, output
    assert {f["preview"][-4:] for f in report["findings"]} == {t[-4:] for t in graph.tokens[:2]}
    reply = next(d for d in details(report) if d["message_id"] == "2001")
    assert reply["reply_to"] == "1003" and reply["channel"] == "General" and reply["author"] == "Megan"
    assert reply["url"].endswith("/2001")
    skipped = {s["location"]: s["reason"] for s in report["skipped"]}
    assert "HTTP 403" in skipped[f"teams://{TENANT}/{TEAM}/#Ops"]
    assert "malformed JSON" in skipped[f"teams://{TENANT}/{TEAM}/#Broken"]
    paged = [r for r in graph.api.log if r.query.get("$skiptoken")]
    assert len(paged) == 2 and paged[1].at - paged[0].at >= 0.95  # nextLink page, 429 + Retry-After honoured
    assert len([r for r in graph.api.log if r.path.endswith("/1003/replies")]) == 2  # the 503 was retried
    assert_no_plaintext([*graph.tokens, graph.token], tmp_path / "r.json", db, output)


def test_rerun_reads_only_new_messages(graph: FakeGraph, tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "inv.db")]
    url = f"teams://{TENANT}?team={TEAM}&channels=General"
    run_scan([url, *db], tmp_path / "1.json")
    graph.replies["1002"] = [graph._msg("2002", f"rotated: {graph.tokens[2]}", "2024-04-01T00:00:00Z", "1002")]
    code, report, _ = run_scan([url, *db], tmp_path / "2.json")
    assert code == 1 and report["summary"]["blobs_scanned"] == 1
    assert [d["message_id"] for d in details(report)] == ["2002"]


def test_app_credentials_team_by_name_and_expired_token(graph: FakeGraph, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEAMS_TOKEN")
    monkeypatch.setenv("AZURE_CLIENT_ID", "app-1")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", graph.client_secret)
    code, report, output = run_scan([f"teams://{TENANT}?team=Platform&channels=General", "--no-db"], tmp_path / "r")
    assert code == 1 and {d["team"] for d in details(report)} == {"Platform"}
    assert_no_plaintext([graph.client_secret, graph.token], tmp_path / "r", output)
    monkeypatch.delenv("AZURE_CLIENT_ID")
    monkeypatch.setenv("TEAMS_TOKEN", "eyJ0eXAi.expired" + secrets.token_hex(6))
    code, report, _ = run_scan([f"teams://{TENANT}?team={TEAM}", "--no-db"], tmp_path / "e.json")
    assert code == 3
    [skip] = report["skipped"]
    assert "HTTP 401" in skip["reason"] and "TEAMS_TOKEN" in skip["reason"]
