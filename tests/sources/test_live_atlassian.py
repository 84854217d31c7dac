"""jira:// and confluence://: fake REST APIs (search pages, comment pages, attachments, 503/429 with Retry-After)."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.live_servers import FakeApi, Reply, Request, assert_no_plaintext, details, run_scan
from tests.tokens import TokenFactory

SINCE = re.compile(r'(?:updated|lastmodified) >= "([^"]+)"')


def _after(query: str, stamp: str) -> bool:
    """The fake's reading of the since clause tokenward adds to JQL/CQL."""
    m = SINCE.search(query)
    if not m:
        return True
    return datetime.strptime(stamp[:16], "%Y-%m-%dT%H:%M") >= datetime.strptime(m.group(1), "%Y/%m/%d %H:%M")


class FakeAtlassian:
    """One site serving Jira (/rest/api/2) and Confluence (/rest/api/content) with basic auth."""

    def __init__(self) -> None:
        self.email, self.secret = "bot@example.test", "atl-" + secrets.token_hex(10)
        self.tokens = [TokenFactory(seed).github_classic() for seed in (51, 52, 53, 54, 55, 56)]
        self.issues = [self._issue("OPS-1", "2024-03-01T10:00:00.000+0000", f"deploy with {self.tokens[0]}", 3),
                       self._issue("OPS-2", "2024-03-02T10:00:00.000+0000", "nothing here", 0),
                       self._issue("OPS-3", "2024-03-03T10:00:00.000+0000", "see attachment", 0)]
        self.issues[2]["fields"]["attachment"] = [{"id": "10", "filename": "creds.env", "size": 50,
                                                   "content": "{base}/secure/attachment/10/creds.env"}]
        self.pages = [self._page("101", "Runbook", f"<p>token <code>{self.tokens[3]}</code></p>", "2024-03-01"),
                      self._page("102", "Notes", "<p>nothing</p>", "2024-03-02")]
        self.unavailable = self.throttled = False
        self.api = FakeApi(self.handle)

    def _issue(self, key: str, updated: str, text: str, comments: int) -> dict[str, Any]:
        bodies = [f"comment {n}" + (f" GITHUB_TOKEN={self.tokens[1]}" if n == 2 else "") for n in range(comments)]
        embedded = [{"id": str(900 + n), "body": b, "author": {"displayName": "Ann"}, "created": updated}
                    for n, b in enumerate(bodies)]
        return {"id": key[-1], "key": key, "self": f"/rest/api/2/issue/{key}", "fields": {
            "summary": f"issue {key}", "description": text, "updated": updated, "reporter": {"displayName": "Bo"},
            "comment": {"comments": embedded[:1], "total": len(embedded), "maxResults": 1, "all": embedded}}}

    def _page(self, cid: str, title: str, body: str, day: str) -> dict[str, Any]:
        return {"id": cid, "type": "page", "title": title, "space": {"key": "OPS"},
                "version": {"number": 3, "when": f"{day}T09:00:00.000Z", "by": {"displayName": "Cy"}},
                "body": {"storage": {"value": body, "representation": "storage"}},
                "_links": {"webui": f"/spaces/OPS/pages/{cid}"}}

    def handle(self, req: Request) -> Reply:
        basic = base64.b64encode(f"{self.email}:{self.secret}".encode()).decode()
        if req.headers.get("authorization") != f"Basic {basic}":
            return Reply(401, {"errorMessages": ["Client must be authenticated to access this resource."]})
        if req.path == "/rest/api/2/search":
            return self.search(req)
        if req.path == "/rest/api/2/issue/OPS-1/comment":
            everything = self.issues[0]["fields"]["comment"]["all"]
            start = int(req.query["startAt"])
            return Reply(body={"startAt": start, "total": len(everything), "comments": everything[start:start + 2]})
        if req.path == "/secure/attachment/10/creds.env":
            return Reply(raw=f"TOKEN={self.tokens[2]}\n".encode(), headers={"Content-Type": "text/plain"})
        if req.path == "/rest/api/content/search":
            return self.content(req)
        return Reply(404, {"errorMessages": ["not found"]})

    def search(self, req: Request) -> Reply:
        if not self.unavailable:
            self.unavailable = True
            return Reply(503, raw=b"Service Unavailable", headers={"Retry-After": "1"})
        hits = [i for i in self.issues if _after(req.query["jql"], i["fields"]["updated"])]
        start = int(req.query.get("startAt", 0))
        page = [self._resolved(i) for i in hits[start:start + 2]]
        return Reply(body={"startAt": start, "maxResults": 2, "total": len(hits), "issues": page,
                           "names": {"summary": "Summary", "description": "Description"}})

    def _resolved(self, issue: dict[str, Any]) -> dict[str, Any]:
        fields = {k: v for k, v in issue["fields"].items() if k != "comment"}
        comment = {k: v for k, v in issue["fields"]["comment"].items() if k != "all"}
        for a in fields.get("attachment", []):
            a["content"] = a["content"].replace("{base}", self.api.url)
        return {**issue, "fields": {**fields, "comment": comment}}

    def content(self, req: Request) -> Reply:
        if req.query.get("cursor") and not self.throttled:
            self.throttled = True
            return Reply(429, {"message": "Rate limited"}, {"Retry-After": "1"})
        cql = req.query.get("cql", "")
        hits = [p for p in self.pages if _after(cql, p["version"]["when"])]
        start = int(req.query.get("cursor") or 0)
        more = start + 1 < len(hits)
        nxt = f"/rest/api/content/search?cursor={start + 1}&cql=x" if more else None
        return Reply(body={"results": hits[start:start + 1], "size": 1, "_links": {"next": nxt} if nxt else {}})


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAtlassian]:
    fake = FakeAtlassian()
    for product in ("JIRA", "CONFLUENCE"):
        monkeypatch.setenv(f"TOKENWARD_{product}_BASE_URL", fake.api.url)
    monkeypatch.setenv("ATLASSIAN_EMAIL", fake.email)
    monkeypatch.setenv("ATLASSIAN_API_TOKEN", fake.secret)
    yield fake
    fake.api.close()


def test_jira_issues_comments_and_attachments(site: FakeAtlassian, tmp_path: Path) -> None:
    db = tmp_path / "inv.db"
    code, report, output = run_scan(["jira://acme.atlassian.net?jql=project = OPS", "--db", str(db)],
                                    tmp_path / "r.json")
    assert code == 1, output
    assert {f["preview"][-4:] for f in report["findings"]} == {t[-4:] for t in site.tokens[:3]}
    found = details(report)
    assert any(d.get("issue") == "OPS-1" and d.get("field") == "Description" for d in found)
    assert any(d.get("issue") == "OPS-1" and d.get("comment_id") == "902" for d in found)  # beyond page 1
    assert any(d.get("attachment") == "creds.env" and d.get("issue") == "OPS-3" for d in found)
    searches = site.api.requests("/rest/api/2/search")
    assert searches[1].at - searches[0].at >= 0.95  # 503 + Retry-After: 1
    assert_no_plaintext([*site.tokens, site.secret], tmp_path / "r.json", db, output)


def test_jira_rerun_reads_only_updated_issues(site: FakeAtlassian, tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "inv.db")]
    run_scan(["jira://acme.atlassian.net?jql=project = OPS", *db], tmp_path / "1.json")
    site.issues.append(site._issue("OPS-4", "2024-03-05T10:00:00.000+0000", f"new {site.tokens[4]}", 0))
    code, report, _ = run_scan(["jira://acme.atlassian.net?jql=project = OPS", *db], tmp_path / "2.json")
    assert code == 1 and [f["preview"][-4:] for f in report["findings"]] == [site.tokens[4][-4:]]
    assert {f["source"]["path"] for f in report["findings"]} == {"OPS-4"}
    assert 'updated >= "2024/03/02 10:00"' in site.api.requests("/rest/api/2/search")[-1].query["jql"]


def test_jira_rejected_credential(site: FakeAtlassian, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLASSIAN_API_TOKEN", "expired-" + secrets.token_hex(6))
    code, report, _ = run_scan(["jira://acme.atlassian.net", "--no-db"], tmp_path / "r.json")
    assert code == 3
    [skip] = report["skipped"]
    assert "HTTP 401" in skip["reason"] and "JIRA_API_TOKEN" in skip["reason"]


def test_confluence_pages_with_rate_limit_and_rerun(site: FakeAtlassian, tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "inv.db")]
    code, report, output = run_scan(["confluence://acme.atlassian.net?cql=space = OPS", *db], tmp_path / "1.json")
    assert code == 1, output
    [d] = details(report)
    assert d["space"] == "OPS" and d["page"] == "Runbook" and d["version"] == "3"
    assert d["url"].endswith("/spaces/OPS/pages/101")
    paged = site.api.requests("/rest/api/content/search")
    assert len(paged) == 3 and paged[2].at - paged[1].at >= 0.95
    site.pages.append(site._page("103", "New", f"<p>{site.tokens[5]}</p>", "2024-03-09"))
    code, report, _ = run_scan(["confluence://acme.atlassian.net?cql=space = OPS", *db], tmp_path / "2.json")
    assert code == 1 and report["summary"]["blobs_scanned"] == 1
    assert [d["page"] for d in details(report)] == ["New"]
