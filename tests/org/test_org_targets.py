"""Targets of `tokenward scan-org`: list files, directories of repositories, and GitHub/GitLab listings
through a local fake API (pagination, the token from the environment, errors)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tokenward.errors import ConfigError
from tokenward.org import targets
from tokenward.org.state import RunOptions, refs_digest

SEEN: list[tuple[str, dict[str, str]]] = []


class FakeApi(BaseHTTPRequestHandler):
    """GitHub /orgs/ORG/repos and GitLab /api/v4/groups/G/projects: 150 repositories in pages."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        SEEN.append((url.path, {k.lower(): v for k, v in self.headers.items()}))
        page, per = int(query.get("page", "1")), int(query.get("per_page", "30"))
        names = [f"repo{i:03d}" for i in range(150)][(page - 1) * per:page * per]
        if url.path == "/orgs/acme/repos":
            body = [{"clone_url": f"https://git.example/acme/{n}.git"} for n in names]
        elif url.path == "/api/v4/groups/acme%2Fplatform/projects":
            body = [{"http_url_to_repo": f"https://gitlab.example/acme/platform/{n}.git"} for n in names]
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def api() -> Iterator[str]:
    """The fake API's base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    SEEN.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_github_org_listing_pages_with_the_token(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "test-value-not-a-token")
    found = targets.github_org("acme", api)
    assert len(found) == 150 and found[0] == "https://git.example/acme/repo000.git"
    assert len(SEEN) == 2 and SEEN[0][1]["authorization"] == "Bearer test-value-not-a-token"


def test_gitlab_group_listing(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENWARD_GITLAB_API", api)
    monkeypatch.setenv("GITLAB_TOKEN", "test-value")
    found = targets.gitlab_group("acme/platform")
    assert len(found) == 150 and found[-1] == "https://gitlab.example/acme/platform/repo149.git"
    assert SEEN[0][1]["private-token"] == "test-value"


def test_listing_errors_are_usage_errors(api: str) -> None:
    with pytest.raises(ConfigError, match="HTTP 404"):
        targets.github_org("nobody", api)


def test_list_files_and_directories(tmp_path: Path) -> None:
    from tests.org.repos import make_repos

    repos = make_repos(tmp_path / "repos", 2)
    (tmp_path / "repos" / "notes").mkdir()
    assert targets.from_argument(str(tmp_path / "repos")) == [str(p) for p in sorted(repos)]
    listing = tmp_path / "list.txt"
    listing.write_text("# comment\n\nrepos/repo-000.git\ngit@github.com:acme/tool.git\nhttps://h.example/a.git\n")
    assert targets.from_argument(str(listing)) == [str(tmp_path / "repos" / "repo-000.git"),
                                                   "git@github.com:acme/tool.git", "https://h.example/a.git"]
    with pytest.raises(ConfigError, match="password"):
        targets.normalise("https://user:pw-here@h.example/a.git")
    with pytest.raises(ConfigError, match="no git repositories"):
        targets.from_argument(str(tmp_path / "repos" / "notes"))


def test_run_options_round_trip_and_ref_digests() -> None:
    options = RunOptions("digest:check", ("/rules",), "high", full=True, retries=4)
    assert RunOptions.from_json(options.to_json()) == options
    assert refs_digest([("refs/heads/a", "1"), ("refs/tags/v", "2")]) == refs_digest([("refs/tags/v", "2"),
                                                                                     ("refs/heads/a", "1")])
    assert refs_digest([("refs/heads/a", "1")]) != refs_digest([("refs/heads/a", "2")])


def test_summary_table_names_every_unfinished_target() -> None:
    import io

    from rich.console import Console

    from tokenward.cli.org import print_summary, summary_json
    from tokenward.org.run import RunSummary
    from tokenward.store.orgruns import OrgTargetRow, TargetCounts

    rows = (OrgTargetRow("r1", "a", "/git/a.git", 0, "done", None, 1, "w1", TargetCounts(10, 900, 2, 2, 1, 0.5), "d"),
            OrgTargetRow("r1", "b", "/git/b.git", 1, "skipped", "refs unchanged", 1, "w2", TargetCounts(), "d"),
            OrgTargetRow("r1", "c", "/git/c.git", 2, "failed", "git ls-remote: fatal: gone", 3, None,
                         TargetCounts(), None))
    summary = RunSummary("r1", rows, 3, 1.5, None, {"done": 1, "skipped": 1, "failed": 1})
    out = io.StringIO()
    print_summary(summary, Console(file=out, width=120, markup=False))
    text = out.getvalue()
    assert "new tokens" in text and "failed: /git/c.git: git ls-remote: fatal: gone" in text
    assert summary.exit_code == 3 and summary_json(summary)["failures"][0]["target"] == "/git/c.git"
    assert RunSummary("r1", rows[:2], 2, 1.0).exit_code == 1
