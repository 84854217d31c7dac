"""`github://ORG[/REPO]` and `https://github.com/ORG[/REPO]`: repositories, issues, PRs and gists via the REST API.

Every repository is mirrored with git and scanned like a local one (full history, each blob once,
commit provenance); issue and pull-request bodies, their comments and review comments, and the
owner's gists are read through the API. Query flags turn parts off: `?repos=0`, `?issues=0`,
`?gists=0`, `?forks=0`.

Credential: GITHUB_TOKEN (or GH_TOKEN; optional for public data, needed for private repositories and
for rate limits). API base: $TOKENWARD_GITHUB_BASE_URL (GitHub Enterprise: https://HOST/api/v3).
Pagination: the Link header. Rate limits: 429/403 with Retry-After (secondary limits) and
x-ratelimit-remaining 0 + x-ratelimit-reset (primary) are waited out, within the policy's bound.
Incremental: git refs through the mirror's blob cache; issues, comments and gists by `updated_at`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from tokenward.sources.interface import Blob, SkippedItem
from tokenward.sources.live.hosting import HostingSource
from tokenward.sources.live.interface import (
    LiveError,
    content_blob,
    error_item,
    http_client,
    next_link,
    paginate,
    too_large,
)

API = "https://api.github.com"
TOKEN_VARS = ("GITHUB_TOKEN", "GH_TOKEN")
PER_PAGE = 100
TRUSTED_RAW_HOSTS = ("githubusercontent.com", "github.com")


class GithubSource(HostingSource):
    """An organisation's (or user's, or one repository's) code, issues, pull requests and gists."""

    kind = "github"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parts = self.target.path.removesuffix(".git").split("/") if self.target.path else []
        self.owner = parts[0] if self.target.scheme in ("http", "https") and parts else self.target.host
        rest = parts[1:] if self.target.scheme in ("http", "https") else parts
        self.repo = rest[0] if rest else None
        if self.target.scheme in ("http", "https") and not parts:
            from tokenward.errors import ConfigError

            raise ConfigError(f"{self.target.url}: name an organisation or repository (https://github.com/ORG[/REPO])")

    @property
    def root(self) -> str:
        """github://OWNER[/REPO], whichever URL form was given."""
        return f"github://{self.owner}" + (f"/{self.repo}" if self.repo else "")

    @property
    def cursor_key(self) -> str:
        """Cursors are kept per owner (streams: one per repository and part)."""
        return f"github://{self.owner}"

    def read(self) -> Iterator[Blob | SkippedItem]:
        """Repositories (code, then issues), then gists."""
        token = self.options.credentials.get(*TOKEN_VARS)
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.api = http_client("GitHub", self.options.base_url("github", API), self.options, headers=headers,
                               hint=self.options.credentials.hint(*TOKEN_VARS))
        for repo in self._repos():
            yield from self._repository(repo, token)
        if self.repo is None and self.target.flag("gists", True):
            yield from self.guarded(f"{self.root}/gists", self._gists())

    def _pages(self, url: str, **params: Any) -> Iterator[Any]:
        """Every element of a paginated list endpoint (Link: rel="next")."""
        def fetch(cursor: str | None) -> tuple[list[Any], str | None]:
            response = self.http.get(cursor or url, params=None if cursor else {"per_page": PER_PAGE, **params})
            try:
                items = response.json()
            except ValueError:
                raise LiveError(f"GitHub sent a malformed JSON body for {urlsplit(str(response.url)).path}") from None
            if not isinstance(items, list):
                raise LiveError(f"GitHub: expected a list from {urlsplit(str(response.url)).path}")
            return items, next_link(response)
        yield from paginate(fetch)

    def _repos(self) -> list[dict[str, Any]]:
        if self.repo is not None:
            doc = self.http.json(f"/repos/{self.owner}/{self.repo}")
            return [doc] if isinstance(doc, dict) else []
        try:
            repos = list(self._pages(f"/orgs/{self.owner}/repos", type="all"))
        except LiveError as exc:
            if exc.status != 404:
                raise
            repos = list(self._pages(f"/users/{self.owner}/repos", type="owner"))  # a user, not an org
        forks = self.target.flag("forks", True)
        return [r for r in repos if isinstance(r, dict) and (forks or not r.get("fork"))]

    def _repository(self, repo: dict[str, Any], token: str | None) -> Iterator[Blob | SkippedItem]:
        name = str(repo.get("full_name") or f"{self.owner}/{repo.get('name')}")
        web = str(repo.get("html_url") or f"https://github.com/{name}")
        if self.target.flag("repos", True):
            yield from self.guarded(web, self._code(repo, name, web, token))
        if self.target.flag("issues", True) and repo.get("has_issues", True) is not False:
            yield from self.guarded(f"{web}/issues", self._issues(name))

    def _code(self, repo: dict[str, Any], name: str, web: str, token: str | None) -> Iterator[Blob | SkippedItem]:
        """Mirror the repository and yield what the git source reads (history, each blob once)."""
        url = str(repo.get("clone_url") or f"{web}.git")
        yield from self.clone(url, web, name, "x-access-token", token if self._trusted(url) else None)

    def _issues(self, name: str) -> Iterator[Blob | SkippedItem]:
        """Issue/PR bodies, conversation comments and review comments updated after the cursor."""
        stream = f"{name}#issues"
        since = self.cursor(stream)
        newest = since or ""
        params = {"since": since} if since else {}
        parts = ((f"/repos/{name}/issues", {"state": "all", **params}), (f"/repos/{name}/issues/comments", params),
                 (f"/repos/{name}/pulls/comments", params))
        for url, query in parts:
            for item in self._pages(url, **query):
                updated = str(item.get("updated_at") or "") if isinstance(item, dict) else ""
                if updated and updated > (since or ""):
                    newest = max(newest, updated)
                    yield from self._text(name, item)
        self.advance(stream, newest)

    def _text(self, name: str, item: dict[str, Any]) -> Iterator[Blob]:
        """One issue, pull request or comment as a blob with its repository, number, id and web URL."""
        text = "\n".join(str(item.get(k) or "") for k in ("title", "body") if item.get(k))
        if not text:
            return
        number = str(item.get("number") or str(item.get("issue_url") or item.get("pull_request_url") or "")
                     .rsplit("/", 1)[-1])
        is_comment = "number" not in item
        kind = ("review comment" if "pull_request_review_id" in item else "comment") if is_comment else (
            "pull request" if item.get("pull_request") else "issue")
        details = [("repository", name), ("number", number), ("part", kind)]
        details += [("comment_id", str(item.get("id", "")))] if is_comment else []
        author = str((item.get("user") or {}).get("login", ""))
        details += [("author", author), ("updated", str(item.get("updated_at"))),
                    ("url", str(item.get("html_url") or ""))]
        self.stats["items"] += 1
        path = f"{name}#{number}" + (f"/comment-{item.get('id')}" if is_comment else "")
        yield Blob(text.encode("utf-8", "surrogatepass"), self.origin(path, tuple(details)))

    def _gists(self) -> Iterator[Blob | SkippedItem]:
        """The owner's gists updated after the cursor, each file downloaded."""
        since = self.cursor("gists")
        newest = since or ""
        for gist in self._pages(f"/users/{self.owner}/gists", **({"since": since} if since else {})):
            updated = str(gist.get("updated_at") or "") if isinstance(gist, dict) else ""
            if updated and updated > (since or ""):
                newest = max(newest, updated)
                for file in (gist.get("files") or {}).values():
                    if isinstance(file, dict):
                        yield self._gist_file(gist, file)
        self.advance("gists", newest)

    def _gist_file(self, gist: dict[str, Any], file: dict[str, Any]) -> Blob | SkippedItem:
        name = str(file.get("filename") or "file")
        location = f"{gist.get('html_url') or self.root + '/gists/' + str(gist.get('id'))}#{name}"
        if (skip := too_large(int(file.get("size") or 0), location, self.options)) is not None:
            return skip
        raw = str(file.get("raw_url") or "")
        if not self._trusted(raw):
            return SkippedItem(location, "gist file hosted outside GitHub: not downloaded")
        try:
            data = self.http.get(raw).content
        except LiveError as exc:
            return error_item(location, exc)
        self.stats["items"] += 1
        details = (("gist", str(gist.get("id", ""))), ("file", name), ("updated", str(gist.get("updated_at"))),
                   ("url", str(gist.get("html_url") or "")))
        return content_blob(data, self.origin(f"gists/{gist.get('id')}/{name}", details), location)

    def _trusted(self, url: str) -> bool:
        """True when url is on GitHub (or the configured API host): only there is the token sent."""
        host = (urlsplit(url).hostname or "").lower()
        api_host = (urlsplit(self.options.base_url("github", API)).hostname or "").lower()
        return host == api_host or any(host == h or host.endswith("." + h) for h in TRUSTED_RAW_HOSTS)

    def close(self) -> None:
        """Close the HTTP client."""
        if self.api is not None:
            self.api.close()
