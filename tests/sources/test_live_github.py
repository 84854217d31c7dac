"""github://: a fake REST API (Link pages, 403 secondary limit, 5xx) and real clones from a local git daemon."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_servers import FakeApi, Reply, Request, assert_no_plaintext, details, free_port, process, run_scan
from tests.tokens import TokenFactory

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def _git(cwd: Path, *args: str) -> None:
    env = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.test", "GIT_COMMITTER_NAME": "Dev",
           "GIT_COMMITTER_EMAIL": "dev@example.test", "HOME": str(cwd), "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def _bare_repo(served: Path, name: str, files: list[dict[str, str]]) -> None:
    """A repository whose successive commits set these file contents, published bare under served/name."""
    work = served.parent / "work" / name
    work.mkdir(parents=True)
    _git(work, "init", "-q", "-b", "main")
    for number, tree in enumerate(files):
        for path, text in tree.items():
            (work / path).write_text(text) if text else (work / path).unlink()
        _git(work, "add", "-A")
        _git(work, "commit", "-q", "-m", f"change {number}")
    _git(work, "clone", "-q", "--bare", str(work), str(served / f"{name}.git"))


class FakeGithub:
    """Organisation acme: two repositories on two pages, issues, comments, review comments, gists."""

    def __init__(self, git_url: str) -> None:
        self.token = "test-gh-" + secrets.token_hex(10)
        self.tokens = [TokenFactory(seed).github_classic() for seed in (41, 42, 43, 44, 45, 46)]
        self.git_url = git_url
        self.issues: list[dict[str, Any]] = [
            {"number": 1, "title": "CI broken", "body": f"I used {self.tokens[2]} locally", "user": {"login": "ann"},
             "updated_at": "2024-03-01T10:00:00Z", "html_url": "https://github.com/acme/app/issues/1"}]
        self.comments: list[dict[str, Any]] = [
            {"id": 9001, "body": f"try GITHUB_TOKEN={self.tokens[3]}", "user": {"login": "bo"},
             "issue_url": "https://api.github.com/repos/acme/app/issues/1", "updated_at": "2024-03-02T10:00:00Z",
             "html_url": "https://github.com/acme/app/issues/1#issuecomment-9001"}]
        self.reviews = [{"id": 7001, "pull_request_review_id": 5, "body": f"nit: {self.tokens[4]}",
                         "pull_request_url": "https://api.github.com/repos/acme/app/pulls/2",
                         "updated_at": "2024-03-03T10:00:00Z", "user": {"login": "cy"}}]
        self.gist_text = f"export GITHUB_TOKEN={self.tokens[5]}\n"
        self.throttled = self.failed = False
        self.forbidden_issues: set[str] = {"acme/lib"}
        self.api = FakeApi(self.handle)

    def handle(self, req: Request) -> Reply:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
        if req.path == "/repos/acme/app/issues/comments" and not self.throttled:
            self.throttled = True  # a secondary rate limit: 403 with Retry-After
            return Reply(403, {"message": "You have exceeded a secondary rate limit"}, {"Retry-After": "1"})
        if req.path == "/repos/acme/app/pulls/comments" and not self.failed:
            self.failed = True
            return Reply(502, raw=b"<html>bad gateway</html>")
        return self.route(req)

    def route(self, req: Request) -> Reply:
        repo = req.path.split("/")[2:4]
        if req.path == "/orgs/acme/repos":
            page = int(req.query.get("page", 1))
            link = {"Link": f'<{self.api.url}/orgs/acme/repos?page=2&per_page=100>; rel="next"'} if page == 1 else {}
            return Reply(body=[self._repo("app" if page == 1 else "lib")], headers=link)
        if req.path.startswith("/repos/") and len(req.path.split("/")) == 4:
            return Reply(body=self._repo(repo[1]))
        if req.path.startswith("/repos/") and "/".join(repo) in self.forbidden_issues:
            return Reply(403, {"message": "Resource not accessible by integration"})
        since = req.query.get("since", "")
        lists = {"/repos/acme/app/issues": self.issues, "/repos/acme/app/issues/comments": self.comments,
                 "/repos/acme/app/pulls/comments": self.reviews}
        if req.path in lists:
            return Reply(body=[i for i in lists[req.path] if i["updated_at"] >= since])
        if req.path == "/users/acme/gists":
            file = {"filename": "setup.sh", "size": 60, "raw_url": f"{self.api.url}/raw/g1/setup.sh"}
            return Reply(body=[{"id": "g1", "html_url": "https://gist.github.com/acme/g1",
                                "updated_at": "2024-03-04T00:00:00Z", "files": {"setup.sh": file}}])
        if req.path == "/raw/g1/setup.sh":
            return Reply(raw=self.gist_text.encode(), headers={"Content-Type": "text/plain"})
        return Reply(404, {"message": "Not Found"})

    def _repo(self, name: str) -> dict[str, Any]:
        return {"name": name, "full_name": f"acme/{name}", "html_url": f"https://github.com/acme/{name}",
                "clone_url": f"{self.git_url}/acme/{name}.git", "fork": False, "has_issues": True}


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGithub]:
    served = tmp_path / "served"
    (served / "acme").mkdir(parents=True)
    tokens = [TokenFactory(seed).github_classic() for seed in (41, 42)]
    _bare_repo(served / "acme", "app", [{"config.env": f"GITHUB_TOKEN={tokens[0]}\n", "README": "app\n"},
                                        {"config.env": ""}])
    _bare_repo(served / "acme", "lib", [{"lib.py": f'TOKEN = "{tokens[1]}"\n'}])
    port = free_port()
    cmd = ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={served}", "--listen=127.0.0.1",
           f"--port={port}", str(served)]
    with process(cmd, port, "git daemon"):
        fake = FakeGithub(f"git://127.0.0.1:{port}")
        monkeypatch.setenv("TOKENWARD_GITHUB_BASE_URL", fake.api.url)
        monkeypatch.setenv("GITHUB_TOKEN", fake.token)
        yield fake
        fake.api.close()


def test_repos_issues_comments_and_gists(github: FakeGithub, tmp_path: Path) -> None:
    db = tmp_path / "inv.db"
    code, report, output = run_scan(["github://acme", "--db", str(db)], tmp_path / "r.json")
    assert code == 1, output
    assert {f["preview"][-4:] for f in report["findings"]} == {t[-4:] for t in github.tokens}
    code_findings = [f for f in report["findings"] if f["source"]["kind"] == "git"]
    app = next(f for f in code_findings if f["source"]["root"] == "https://github.com/acme/app")
    git = app["source"]["git"]
    assert git["first_commit"]["summary"] == "change 0" and git["paths"] == ["config.env"] and not git["in_head"]
    parts = {(d.get("part"), d.get("number")) for d in details(report)}
    assert {("issue", "1"), ("comment", "1"), ("review comment", "2")} <= parts
    comment = next(d for d in details(report) if d.get("comment_id") == "9001")
    assert comment["url"].endswith("#issuecomment-9001") and comment["repository"] == "acme/app"
    assert any(d.get("gist") == "g1" for d in details(report))
    [skip] = [s for s in report["skipped"] if s["severity"] == "error"]
    assert skip["location"] == "https://github.com/acme/lib/issues" and "HTTP 403" in skip["reason"]
    throttled = github.api.requests("/repos/acme/app/issues/comments")
    assert len(throttled) == 2 and throttled[1].at - throttled[0].at >= 0.95
    assert len(github.api.requests("/repos/acme/app/pulls/comments")) == 2  # the 502 was retried
    assert_no_plaintext([*github.tokens, github.token], tmp_path / "r.json", db, output)


def test_rerun_reads_only_new_items(github: FakeGithub, tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "inv.db")]
    run_scan(["github://acme?gists=0", *db], tmp_path / "1.json")
    new = TokenFactory(47).github_classic()
    github.comments.append({"id": 9002, "body": f"rotated: {new}", "user": {"login": "bo"},
                            "issue_url": "https://api.github.com/repos/acme/app/issues/1",
                            "updated_at": "2024-04-01T00:00:00Z", "html_url": "https://github.com/acme/app/x"})
    code, report, _ = run_scan(["github://acme?gists=0", *db], tmp_path / "2.json")
    api_found = [f["preview"][-4:] for f in report["findings"] if f["source"]["kind"] == "github"]
    assert code == 1 and api_found == [new[-4:]]  # git findings are replayed from the blob cache, not re-read
    assert report["summary"]["blobs_scanned"] == 1  # no git blob, no old comment read again
    assert github.api.requests("/repos/acme/app/issues")[-1].query["since"] == "2024-03-03T10:00:00Z"


def test_single_repository_url_and_bad_credentials(github: FakeGithub, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    code, report, _ = run_scan(["https://github.com/acme/lib?issues=0", "--no-db"], tmp_path / "r.json")
    assert code == 1 and {f["source"]["root"] for f in report["findings"]} == {"https://github.com/acme/lib"}
    monkeypatch.setenv("GITHUB_TOKEN", "expired-" + secrets.token_hex(8))
    code, report, _ = run_scan(["github://acme", "--no-db"], tmp_path / "e.json")
    assert code == 3
    [skip] = report["skipped"]
    assert "HTTP 401" in skip["reason"] and "GITHUB_TOKEN" in skip["reason"]
