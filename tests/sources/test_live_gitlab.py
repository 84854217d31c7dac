"""gitlab://: a fake REST API v4 (Link pages, 429 + Retry-After, 5xx, malformed body) and clones from a git daemon."""

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
WEB = "https://gitlab.example.test"
TEXT = {"Content-Type": "text/plain"}


class FakeGitlab:
    """Group acme (subgroup infra): projects on two pages, snippets, issues, MRs with notes, pipelines and jobs."""

    def __init__(self, git_url: str) -> None:
        self.token = "glpat-" + secrets.token_hex(10)
        self.tokens = [TokenFactory(seed).github_classic() for seed in range(61, 68)]
        self.git_url = git_url
        self.projects = [self._project(1, "acme/app"), self._project(2, "acme/infra/deploy")]
        self.issues: list[dict[str, Any]] = [
            {"iid": 1, "title": "CI", "description": f"token {self.tokens[1]}",
             "updated_at": "2024-03-01T10:00:00.000Z", "author": {"username": "ann"},
             "web_url": f"{WEB}/acme/app/-/issues/1"}]
        self.notes: dict[str, list[dict[str, Any]]] = {
            "issues/1": [{"id": 11, "body": f"use {self.tokens[2]}", "updated_at": "2024-03-01T10:00:00.000Z",
                          "author": {"username": "bo"}}, {"id": 12, "body": "changed the description",
                                                           "system": True, "updated_at": "2024-03-01T10:00:00.000Z"}],
            "merge_requests/3": [{"id": 31, "body": f"nit {self.tokens[3]}", "updated_at": "2024-03-02T10:00:00.000Z",
                                  "author": {"username": "cy"}}]}
        self.mrs = [{"iid": 3, "title": "deploy", "description": "", "updated_at": "2024-03-02T10:00:00.000Z",
                     "web_url": f"{WEB}/acme/app/-/merge_requests/3"}]
        self.rate = Once(Reply(429, {"message": "429 Too Many Requests"}, {"Retry-After": "1"}))
        self.flaky = Once(Reply(502, raw=b"<html>502</html>"))
        self.api = FakeApi(self.handle)

    def _project(self, pid: int, path: str) -> dict[str, Any]:
        return {"id": pid, "path_with_namespace": path, "web_url": f"{WEB}/{path}",
                "http_url_to_repo": f"{self.git_url}/{path}.git", "empty_repo": False}

    def handle(self, req: Request) -> Reply:
        if req.headers.get("private-token") != self.token:
            return Reply(401, {"message": "401 Unauthorized"})
        failure = self.rate(req.path == "/projects/1/issues") or self.flaky(req.path.endswith("/3/notes"))
        return failure or self.route(req)

    def route(self, req: Request) -> Reply:
        p, since = req.path, req.query.get("updated_after", "")
        if p == "/groups/acme/projects":
            assert req.query.get("page") or req.query["include_subgroups"] == "true"
            page, nxt = paged(self.projects, req, 1)
            link = {"Link": f'<{self.api.url}{p}?page={nxt}&per_page=100>; rel="next"'} if nxt else {}
            return Reply(body=page, headers=link)
        lists = {"/projects/1/issues": self.issues, "/projects/1/merge_requests": self.mrs,
                 "/projects/2/issues": [], "/projects/2/merge_requests": []}
        if p in lists:
            return Reply(body=[i for i in lists[p] if i["updated_at"] > since])
        if p.startswith("/projects/1/") and p.endswith("/notes"):
            return Reply(body=self.notes[p.removeprefix("/projects/1/").removesuffix("/notes")])
        return self.route_more(req)

    def route_more(self, req: Request) -> Reply:
        p = req.path
        if p == "/projects/1/snippets":
            return Reply(body=[{"id": 5, "file_name": "deploy.sh", "updated_at": "2024-03-03T00:00:00.000Z",
                                "web_url": f"{WEB}/acme/app/-/snippets/5"}])
        if p == "/projects/1/snippets/5/raw":
            return Reply(raw=f"export GITLAB_DEPLOY={self.tokens[4]}\n".encode(), headers=TEXT)
        if p == "/projects/2/snippets":
            return Reply(raw=b"<html>maintenance</html>", headers={"Content-Type": "text/html"})
        if p.endswith("/pipelines"):
            return Reply(body=[{"id": 70, "status": "success", "updated_at": "2024-03-04T00:00:00.000Z"},
                               {"id": 71, "status": "running", "updated_at": "2024-03-05T00:00:00.000Z"}]
                         if p == "/projects/1/pipelines" else [])
        if p == "/projects/1/pipelines/70/jobs":
            return Reply(body=[{"id": 700, "name": "build", "web_url": f"{WEB}/acme/app/-/jobs/700"}])
        if p == "/projects/1/jobs/700/trace":
            return Reply(raw=f"$ deploy --token {self.tokens[5]}\n".encode(), headers={"Content-Type": "text/plain"})
        return Reply(404, {"message": "404 Not Found"})


@pytest.fixture
def gitlab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitlab]:
    served = tmp_path / "served"
    code_token = TokenFactory(60).github_classic()
    bare_repo(served, "acme/app", [{"ci.env": f"GITHUB_TOKEN={code_token}\n"}, {"ci.env": ""}])
    bare_repo(served, "acme/infra/deploy", [{"README": "deploy\n"}])
    with git_daemon(served) as git_url:
        fake = FakeGitlab(git_url)
        fake.tokens[0] = code_token
        monkeypatch.setenv("TOKENWARD_GITLAB_BASE_URL", fake.api.url)
        monkeypatch.setenv("GITLAB_TOKEN", fake.token)
        yield fake
        fake.api.close()


def test_group_projects_snippets_issues_mrs_and_job_logs(gitlab: FakeGitlab, tmp_path: Path) -> None:
    db = tmp_path / "inv.db"
    code, report, output = run_scan(["gitlab://acme", "--db", str(db)], tmp_path / "r.json")
    assert code == 1, output
    assert {f["preview"][-4:] for f in report["findings"]} == {t[-4:] for t in gitlab.tokens[:6]}
    git = next(f for f in report["findings"] if f["source"]["kind"] == "git")
    assert git["source"]["root"] == f"{WEB}/acme/app" and git["source"]["git"]["paths"] == ["ci.env"]
    found = details(report)
    assert any(d.get("issue") == "1" and d.get("note_id") == "11" and d["url"].endswith("#note_11") for d in found)
    assert any(d.get("merge request") == "3" and d.get("note_id") == "31" for d in found)
    assert any(d.get("snippet") == "5" and d.get("file") == "deploy.sh" for d in found)
    assert any(d.get("job_id") == "700" and d.get("pipeline") == "70" for d in found)
    [skip] = [s for s in report["skipped"] if s["severity"] == "error"]
    assert skip["location"] == f"{WEB}/acme/infra/deploy/-/snippets" and "malformed JSON" in skip["reason"]
    issues = gitlab.api.requests("/projects/1/issues")
    assert len(issues) == 2 and issues[1].at - issues[0].at >= 0.95  # Retry-After: 1 honoured
    assert len(gitlab.api.requests("/projects/1/merge_requests/3/notes")) == 2  # the 502 was retried
    assert_no_plaintext([*gitlab.tokens, gitlab.token], tmp_path / "r.json", db, output)


def test_rerun_reads_only_new_items(gitlab: FakeGitlab, tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "inv.db")]
    run_scan(["gitlab://acme", *db], tmp_path / "1.json")
    new = gitlab.tokens[6]
    gitlab.issues.append({"iid": 2, "title": "new", "description": f"rotated {new}", "author": {"username": "ann"},
                          "updated_at": "2024-04-01T00:00:00.000Z", "web_url": f"{WEB}/acme/app/-/issues/2"})
    gitlab.notes["issues/2"] = []
    code, report, _ = run_scan(["gitlab://acme", *db], tmp_path / "2.json")
    api_found = [f["preview"][-4:] for f in report["findings"] if f["source"]["kind"] == "gitlab"]
    assert code == 1 and api_found == [new[-4:]]
    assert report["summary"]["blobs_scanned"] == 1  # no git blob, note, snippet or job log read again
    assert gitlab.api.requests("/projects/1/issues")[-1].query["updated_after"] == "2024-03-01T10:00:00.000Z"
    assert gitlab.api.requests("/projects/1/pipelines")[-1].query["updated_after"] == "2024-03-04T00:00:00.000Z"


def test_expired_credential_is_one_skipped_item(gitlab: FakeGitlab, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-expired-" + secrets.token_hex(6))
    code, report, _ = run_scan(["gitlab://acme", "--no-db"], tmp_path / "r.json")
    assert code == 3
    [skip] = report["skipped"]
    assert "HTTP 401" in skip["reason"] and "GITLAB_TOKEN" in skip["reason"]
