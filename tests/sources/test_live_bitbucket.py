"""bitbucket://: a fake API 2.0 (values/next pages, 429 + Retry-After, 5xx, malformed body) and git daemon clones."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_servers import (
    FakeApi,
    Once,
    Reply,
    Request,
    assert_no_plaintext,
    bare_repo,
    details,
    git_daemon,
    paged,
    run_scan,
)
from tests.tokens import TokenFactory

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
WEB = "https://bitbucket.org"


class FakeBitbucket:
    """Workspace acme: repositories app and lib on two pages; app has a pull request with paged comments."""

    def __init__(self, git_url: str) -> None:
        self.token = "bb-access-" + secrets.token_hex(10)
        self.tokens = [TokenFactory(seed).github_classic() for seed in range(81, 86)]
        self.git_url = git_url
        self.prs = [{"id": 1, "title": "deploy", "description": f"staging uses {self.tokens[1]}",
                     "updated_on": "2024-03-01T10:00:00.000000+00:00", "author": {"display_name": "Ann"},
                     "links": {"html": {"href": f"{WEB}/acme/app/pull-requests/1"}}}]
        self.comments = [self._comment(11, "looks fine", "2024-03-01T09:00:00.000000+00:00"),
                         self._comment(12, f"prod: {self.tokens[2]}", "2024-03-01T10:00:00.000000+00:00")]
        self.rate = Once(Reply(429, {"type": "error", "error": {"message": "Rate limit"}}, {"Retry-After": "1"}))
        self.flaky = Once(Reply(500, raw=b"internal error"))
        self.api = FakeApi(self.handle)

    def _comment(self, cid: int, raw: str, when: str) -> dict[str, Any]:
        return {"id": cid, "content": {"raw": raw, "markup": "markdown"}, "updated_on": when, "user": {
            "display_name": "Bo"}, "links": {"html": {"href": f"{WEB}/acme/app/pull-requests/1/_/diff#comment-{cid}"}}}

    def _repo(self, slug: str) -> dict[str, Any]:
        return {"slug": slug, "full_name": f"acme/{slug}", "links": {"html": {"href": f"{WEB}/acme/{slug}"}, "clone": [
            {"name": "https", "href": f"{self.git_url}/acme/{slug}.git"}]}}

    def handle(self, req: Request) -> Reply:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(401, {"type": "error", "error": {"message": "Access token expired."}})
        p = req.path
        failure = self.rate(p == "/repositories/acme/app/pullrequests") or self.flaky(p.endswith("/comments"))
        if failure:
            return failure
        if p == "/repositories/acme":
            page, nxt = paged([self._repo("app"), self._repo("lib")], req, 1)
            return Reply(body={"values": page, **({"next": f"{self.api.url}{p}?page={nxt}"} if nxt else {})})
        if p == "/repositories/acme/app/pullrequests":
            since = req.query.get("q", "updated_on > ").removeprefix("updated_on > ")
            return Reply(body={"values": [pr for pr in self.prs if pr["updated_on"] > since], "pagelen": 50})
        if p == "/repositories/acme/app/pullrequests/1/comments":
            page, nxt = paged(self.comments, req, 1)
            return Reply(body={"values": page, **({"next": f"{self.api.url}{p}?page={nxt}"} if nxt else {})})
        if p == "/repositories/acme/lib/pullrequests":
            return Reply(raw=b"{\"values\": [", headers={"Content-Type": "application/json"})
        return Reply(404, {"type": "error", "error": {"message": "not found"}})


@pytest.fixture
def bitbucket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBitbucket]:
    served = tmp_path / "served"
    code_token = TokenFactory(80).github_classic()
    bare_repo(served, "acme/app", [{"deploy.sh": f"export GITHUB_TOKEN={code_token}\n"}])
    bare_repo(served, "acme/lib", [{"README": "lib\n"}])
    with git_daemon(served) as git_url:
        fake = FakeBitbucket(git_url)
        fake.tokens[0] = code_token
        monkeypatch.setenv("TOKENWARD_BITBUCKET_BASE_URL", fake.api.url)
        monkeypatch.setenv("BITBUCKET_TOKEN", fake.token)
        yield fake
        fake.api.close()


def test_repositories_and_pull_request_comments(bitbucket: FakeBitbucket, tmp_path: Path) -> None:
    db = tmp_path / "inv.db"
    code, report, output = run_scan(["bitbucket://acme", "--db", str(db)], tmp_path / "r.json")
    assert code == 1, output
    assert {f["preview"][-4:] for f in report["findings"]} == {t[-4:] for t in bitbucket.tokens[:3]}
    git = next(f for f in report["findings"] if f["source"]["kind"] == "git")
    assert git["source"]["root"] == f"{WEB}/acme/app" and git["source"]["git"]["paths"] == ["deploy.sh"]
    comment = next(d for d in details(report) if d.get("comment_id") == "12")  # on the second page
    assert comment["pull_request"] == "1" and comment["url"].endswith("#comment-12") and comment["author"] == "Bo"
    [skip] = [s for s in report["skipped"] if s["severity"] == "error"]
    assert skip["location"] == f"{WEB}/acme/lib/pull-requests" and "malformed JSON" in skip["reason"]
    prs = bitbucket.api.requests("/repositories/acme/app/pullrequests")
    assert len(prs) == 2 and prs[1].at - prs[0].at >= 0.95
    assert len(bitbucket.api.requests("/repositories/acme/app/pullrequests/1/comments")) == 3  # 500 retried
    assert_no_plaintext([*bitbucket.tokens, bitbucket.token], tmp_path / "r.json", db, output)


def test_rerun_reads_only_new_comments(bitbucket: FakeBitbucket, tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "inv.db")]
    run_scan(["bitbucket://acme", *db], tmp_path / "1.json")
    new = "2024-04-01T00:00:00.000000+00:00"
    bitbucket.comments.append(bitbucket._comment(13, f"new {bitbucket.tokens[3]}", new))
    bitbucket.prs[0]["updated_on"] = new  # a comment updates its pull request
    code, report, _ = run_scan(["bitbucket://acme", *db], tmp_path / "2.json")
    assert code == 1 and report["summary"]["blobs_scanned"] == 2  # the updated description and the new comment
    assert {d.get("comment_id") for d in details(report)} == {None, "13"}  # comment 12 is not read again
    assert bitbucket.api.requests("/repositories/acme/app/pullrequests")[-1].query["q"] == \
        "updated_on > 2024-03-01T10:00:00.000000+00:00"


def test_expired_credential_is_one_skipped_item(bitbucket: FakeBitbucket, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BITBUCKET_TOKEN", "expired-" + secrets.token_hex(6))
    code, report, _ = run_scan(["bitbucket://acme", "--no-db"], tmp_path / "r.json")
    assert code == 3
    [skip] = report["skipped"]
    assert "HTTP 401" in skip["reason"] and "BITBUCKET_TOKEN" in skip["reason"]
