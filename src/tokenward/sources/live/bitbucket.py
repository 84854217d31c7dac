"""`bitbucket://WORKSPACE[/REPO]`: a workspace's repositories and pull-request comments (Bitbucket Cloud API 2.0).

Every repository is mirrored with git and scanned like a local one; pull-request descriptions and
comments (open, merged, declined, superseded) are read through the API. `?repos=0`, `?prs=0` turn parts off.

Credentials: BITBUCKET_TOKEN (a workspace, project or repository access token: Bearer, and git user
x-token-auth) or BITBUCKET_USERNAME + BITBUCKET_APP_PASSWORD (Basic). API base:
$TOKENWARD_BITBUCKET_BASE_URL (default https://api.bitbucket.org/2.0). Pagination: the `next` URL of
each page. Incremental: git refs through the mirror's blob cache; pull requests (and their comments)
by `updated_on` per repository, asked for with a BBQL `q=updated_on > …` filter.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from tokenward.sources.interface import Blob, SkippedItem
from tokenward.sources.live.hosting import HostingSource, latest, newer, text_blob
from tokenward.sources.live.interface import http_client, paginate

API = "https://api.bitbucket.org/2.0"
PR_STATES = ["OPEN", "MERGED", "DECLINED", "SUPERSEDED"]


class BitbucketSource(HostingSource):
    """A workspace's repositories (code) and pull requests (descriptions, comments)."""

    kind = "bitbucket"

    def read(self) -> Iterator[Blob | SkippedItem]:
        """Every repository of the workspace (or the one named), part by part."""
        creds = self.options.credentials
        token, user, password = creds.get("BITBUCKET_TOKEN"), creds.get("BITBUCKET_USERNAME"), creds.get(
            "BITBUCKET_APP_PASSWORD")
        hint = creds.hint("BITBUCKET_TOKEN", "BITBUCKET_USERNAME + BITBUCKET_APP_PASSWORD")
        auth = httpx.BasicAuth(user, password) if user and password and not token else None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.api = http_client("Bitbucket", self.options.base_url("bitbucket", API), self.options, headers=headers,
                               auth=auth, hint=hint)
        git_user, secret = ("x-token-auth", token) if token else (user or "", password)
        workspace = self.target.host
        repos = ([self.api.json(f"/repositories/{workspace}/{self.target.path}")] if self.target.path
                 else list(self.pages(f"/repositories/{workspace}")))
        for repo in repos:
            if isinstance(repo, dict):
                yield from self._repository(repo, git_user, secret)

    def pages(self, url: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every element of a paged collection ({values, next})."""
        def fetch(cursor: str | None) -> tuple[list[Any], str | None]:
            items, (doc, _) = self.json_list(cursor or url, "values", None if cursor else {"pagelen": 50, **params})
            return items, str(doc.get("next") or "") or None
        yield from paginate(fetch)

    def _repository(self, repo: dict[str, Any], user: str, secret: str | None) -> Iterator[Blob | SkippedItem]:
        name = str(repo.get("full_name") or repo.get("slug"))
        links = repo.get("links") or {}
        web = str((links.get("html") or {}).get("href") or f"https://bitbucket.org/{name}")
        if self.target.flag("repos", True):
            clone = {str(c.get("name")): str(c.get("href")) for c in links.get("clone") or [] if isinstance(c, dict)}
            url = _without_user(clone.get("https") or next(iter(clone.values()), f"{web}.git"))
            yield from self.guarded(web, self.clone(url, web, name, user, secret if url.startswith("https:") else None))
        if self.target.flag("prs", True):
            yield from self.guarded(f"{web}/pull-requests", self._pull_requests(name))

    def _pull_requests(self, name: str) -> Iterator[Blob | SkippedItem]:
        """Pull requests updated after the cursor: description, then their comments."""
        stream = f"{name}#pullrequests"
        since = self.cursor(stream)
        newest = since or ""
        query = {"state": PR_STATES, "sort": "updated_on", **({"q": f"updated_on > {since}"} if since else {})}
        for pr in self.pages(f"/repositories/{name}/pullrequests", **query):
            updated = str(pr.get("updated_on") or "")
            if not newer(updated, since):
                continue
            newest = latest(newest, updated)
            number, url = str(pr.get("id")), str(((pr.get("links") or {}).get("html") or {}).get("href") or "")
            base = [("repository", name), ("pull_request", number)]
            text = "\n".join(str(pr.get(k) or "") for k in ("title", "description"))
            yield from text_blob(self, text, f"{name}/pull-requests/{number}",
                                 [*base, ("author", _who(pr.get("author"))), ("updated", updated), ("url", url)])
            for c in self.pages(f"/repositories/{name}/pullrequests/{number}/comments"):
                if newer(str(c.get("updated_on") or c.get("created_on") or ""), since) and not c.get("deleted"):
                    yield from text_blob(self, str((c.get("content") or {}).get("raw") or ""),
                                         f"{name}/pull-requests/{number}/comment-{c.get('id')}",
                                         [*base, ("comment_id", str(c.get("id"))), ("author", _who(c.get("user"))),
                                          ("updated", str(c.get("updated_on") or "")),
                                          ("url", str(((c.get("links") or {}).get("html") or {}).get("href") or ""))])
        self.advance(stream, newest)


def _who(user: Any) -> str:
    return str((user or {}).get("display_name") or (user or {}).get("nickname") or "") if isinstance(user, dict) else ""


def _without_user(url: str) -> str:
    """The clone URL without the `user@` Bitbucket puts in it (the credential goes through a header)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""))) \
        if parts.hostname else url
