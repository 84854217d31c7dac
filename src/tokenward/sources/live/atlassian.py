"""`jira://SITE?jql=…` and `confluence://SITE?cql=…`: issues and pages through the Atlassian REST APIs.

Jira: /rest/api/2/search (startAt/total pages; on a site that retired it, /rest/api/3/search/jql with
nextPageToken), every field, every comment (the issue's comment list is fetched when the search
embeds only the first page) and attachments. Each issue goes through the Jira export expander, so
findings name the issue key, field or comment id, author and time, like an export's.
Confluence: /rest/api/content/search with CQL (`_links.next` pages); each page, blog post or comment
body in storage format, with space, title, version and web URL.

Credentials: JIRA_EMAIL + JIRA_API_TOKEN (Cloud, basic auth) or JIRA_TOKEN (Data Center personal
access token, bearer); CONFLUENCE_EMAIL + CONFLUENCE_API_TOKEN or CONFLUENCE_TOKEN; both fall back to
ATLASSIAN_EMAIL + ATLASSIAN_API_TOKEN. Bases: $TOKENWARD_JIRA_BASE_URL, $TOKENWARD_CONFLUENCE_BASE_URL.
Incremental: the newest `updated` (Jira) or version time (Confluence) read per query; the query asks
for a day more than that (JQL/CQL dates are in the user's time zone) and older items are dropped here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from tokenward.sources.interface import Blob, SkippedItem
from tokenward.sources.live.interface import (
    Api,
    LiveError,
    LiveSource,
    content_blob,
    error_item,
    http_client,
    paginate,
    too_large,
)

PAGE = 50
ORDER_BY = re.compile(r"\border\s+by\b", re.I)
MARGIN = timedelta(days=1)


def _when(text: str) -> datetime | None:
    """An Atlassian timestamp (2024-03-01T10:00:00.000+0000 or ISO 8601) as aware UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            value = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
        except ValueError:
            return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _since(field: str, cursor: str | None) -> str:
    """'field >= "yyyy/MM/dd HH:mm"' a day before the cursor (JQL/CQL dates are local time), or ''."""
    when = _when(cursor) if cursor else None
    return f'{field} >= "{(when - MARGIN).strftime("%Y/%m/%d %H:%M")}"' if when else ""


def _and(query: str, clause: str) -> str:
    """query AND clause (either may be empty)."""
    return " AND ".join(f"({q})" if q is query else q for q in (query, clause) if q)


def _newer(stamp: str, cursor: str | None) -> bool:
    when, since = _when(stamp), _when(cursor) if cursor else None
    return since is None or when is None or when > since


class AtlassianSource(LiveSource):
    """What Jira and Confluence share: the site, its credentials and client."""

    product = ""
    default_path = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api: Api | None = None
        self.site = self.options.base_url(self.kind, f"https://{self.target.host}{self.default_path}")

    def client(self) -> Api:
        """A client authenticated with basic (email + API token) or bearer (personal access token)."""
        creds, up = self.options.credentials, self.kind.upper()
        email = creds.get(f"{up}_EMAIL", "ATLASSIAN_EMAIL")
        secret = creds.get(f"{up}_API_TOKEN", "ATLASSIAN_API_TOKEN")
        bearer = creds.get(f"{up}_TOKEN")
        hint = creds.hint(f"{up}_EMAIL + {up}_API_TOKEN", f"{up}_TOKEN")
        if not ((email and secret) or bearer):
            raise LiveError(f"no {self.product} credential: {hint}")
        auth = httpx.BasicAuth(email, secret) if email and secret else None
        headers = {"Accept": "application/json", **({"Authorization": f"Bearer {bearer}"} if auth is None else {})}
        return http_client(self.product, self.site, self.options, headers=headers, auth=auth, hint=hint)

    def close(self) -> None:
        """Close the HTTP client."""
        if self.api is not None:
            self.api.close()

    def _trusted(self, url: str) -> bool:
        return (urlsplit(url).hostname or "") == (urlsplit(self.site).hostname or "")


class JiraSource(AtlassianSource):
    """Issues matching a JQL query: fields, comments, attachments."""

    kind = "jira"
    product = "Jira"

    def read(self) -> Iterator[Blob | SkippedItem]:
        """Search, then one blob per issue (and one per attachment)."""
        jql = self.target.param("jql") or ""
        self.api = self.client()
        stream = jql
        cursor = self.cursor(stream)
        core = ORDER_BY.split(jql, 1)[0].strip()  # the since clause goes before any ORDER BY
        query = f"{_and(core, _since('updated', cursor))} ORDER BY updated ASC"
        newest = cursor or ""
        for issue, names in self._search(query):
            updated = str((issue.get("fields") or {}).get("updated") or "")
            if _newer(updated, cursor):
                newest = max(newest, updated, key=lambda s: _when(s) or datetime.min.replace(tzinfo=UTC))
                yield from self._issue(issue, names)
        self.advance(stream, newest)

    def _search(self, jql: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(issue, field names) of every page: v2 startAt paging, or v3 nextPageToken where v2 is gone."""
        assert self.api is not None
        api = self.api
        params = {"jql": jql, "maxResults": PAGE, "fields": "*all", "expand": "names"}

        def v2(cursor: str | None) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], str | None]:
            doc = _object(api.json("/rest/api/2/search", params={**params, "startAt": int(cursor or 0)}), "search")
            issues = [i for i in doc.get("issues") or [] if isinstance(i, dict)]
            start, total = int(doc.get("startAt") or 0), int(doc.get("total") or 0)
            more = issues and start + len(issues) < total
            return [(i, doc.get("names") or {}) for i in issues], str(start + len(issues)) if more else None

        def v3(cursor: str | None) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], str | None]:
            extra = {"nextPageToken": cursor} if cursor else {}
            doc = _object(api.json("/rest/api/3/search/jql", params={**params, **extra}), "search")
            issues = [i for i in doc.get("issues") or [] if isinstance(i, dict)]
            token = None if doc.get("isLast", True) else doc.get("nextPageToken")
            return [(i, doc.get("names") or {}) for i in issues], token
        try:
            yield from paginate(v2)
        except LiveError as exc:
            if exc.status != 410:
                raise
            yield from paginate(v3)

    def _issue(self, issue: dict[str, Any], names: dict[str, Any]) -> Iterator[Blob | SkippedItem]:
        key = str(issue.get("key") or issue.get("id") or "?")
        try:
            self._all_comments(key, issue)
        except LiveError as exc:
            yield error_item(f"{self.root}/browse/{key} (comments)", exc)
        self.stats["items"] += 1
        # Key order puts "issues", "key", "self" and "fields" in the sniffed head: the Jira expander opens it.
        doc = {"issues": [{"key": key, "self": issue.get("self", ""), "fields": issue.get("fields") or {}}],
               "names": names}
        origin = self.origin(key, (("url", f"{self.site}/browse/{key}"),))
        yield Blob(json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass"), origin)
        for attachment in (issue.get("fields") or {}).get("attachment") or []:
            if isinstance(attachment, dict):
                yield self._attachment(key, attachment)

    def _all_comments(self, key: str, issue: dict[str, Any]) -> None:
        """Replace the search's first page of comments by all of them when there are more."""
        block = (issue.get("fields") or {}).get("comment")
        if not isinstance(block, dict) or int(block.get("total") or 0) <= len(block.get("comments") or []):
            return
        assert self.api is not None
        api = self.api

        def fetch(cursor: str | None) -> tuple[list[Any], str | None]:
            doc = _object(api.json(f"/rest/api/2/issue/{key}/comment",
                                   params={"startAt": int(cursor or 0), "maxResults": 100}), "comments")
            got, start = list(doc.get("comments") or []), int(doc.get("startAt") or 0)
            return got, str(start + len(got)) if got and start + len(got) < int(doc.get("total") or 0) else None
        block["comments"] = list(paginate(fetch))

    def _attachment(self, key: str, att: dict[str, Any]) -> Blob | SkippedItem:
        name = str(att.get("filename") or att.get("id") or "attachment")
        location = f"{self.site}/browse/{key} attachment {name}"
        url = str(att.get("content") or "")
        if (skip := too_large(int(att.get("size") or 0), location, self.options)) is not None:
            return skip
        if not url or not self._trusted(url):
            return SkippedItem(location, "attachment hosted outside the Jira site: not downloaded")
        assert self.api is not None
        try:
            data = self.api.get(url).content
        except LiveError as exc:
            return error_item(location, exc)
        details = (("issue", key), ("attachment", name), ("attachment_id", str(att.get("id", ""))),
                   ("url", f"{self.site}/browse/{key}"))
        return content_blob(data, self.origin(f"{key}/attachments/{name}", details), location)


class ConfluenceSource(AtlassianSource):
    """Pages, blog posts and comments matching a CQL query."""

    kind = "confluence"
    product = "Confluence"
    default_path = "/wiki"

    def read(self) -> Iterator[Blob | SkippedItem]:
        """Search, then one blob per content body."""
        cql = self.target.param("cql") or "type in (page, blogpost, comment)"
        self.api = self.client()
        cursor = self.cursor(cql)
        newest = cursor or ""
        for content in self._search(_and(cql, _since("lastmodified", cursor))):
            when = str((content.get("version") or {}).get("when") or "")
            if _newer(when, cursor):
                newest = max(newest, when, key=lambda s: _when(s) or datetime.min.replace(tzinfo=UTC))
                blob = self._content(content)
                if blob is not None:
                    yield blob
        self.advance(cql, newest)

    def _search(self, cql: str) -> Iterator[dict[str, Any]]:
        assert self.api is not None
        api, context = self.api, urlsplit(self.site).path.rstrip("/")
        first = ("/rest/api/content/search", {"cql": cql, "limit": PAGE,
                                              "expand": "body.storage,version,space,history"})

        def fetch(cursor: str | None) -> tuple[list[Any], str | None]:
            url, params = (cursor, None) if cursor else first
            doc = _object(api.json(url, params=params), "content search")
            following = str((doc.get("_links") or {}).get("next") or "") or None
            if following and context and following.startswith(context + "/"):
                following = following[len(context):]  # links carry the /wiki context the base already has
            return [r for r in doc.get("results") or [] if isinstance(r, dict)], following
        yield from paginate(fetch)

    def _content(self, content: dict[str, Any]) -> Blob | None:
        body = str(((content.get("body") or {}).get("storage") or {}).get("value") or "")
        if not body:
            return None
        version = content.get("version") or {}
        space = str((content.get("space") or {}).get("key") or "")
        title, cid = str(content.get("title") or ""), str(content.get("id") or "")
        web = str((content.get("_links") or {}).get("webui") or "")
        details = (("space", space), ("page", title), ("content", f"{content.get('type', 'page')} {cid}"),
                   ("version", str(version.get("number") or "")), ("modified", str(version.get("when") or "")),
                   ("author", str((version.get("by") or {}).get("displayName") or "")),
                   ("url", f"{self.site}{web}" if web else ""))
        self.stats["items"] += 1
        origin = self.origin(f"{space}/{title} ({cid})", tuple((k, v) for k, v in details if v))
        return Blob(body.encode("utf-8", "surrogatepass"), origin)


def _object(doc: Any, what: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise LiveError(f"malformed {what} response (not a JSON object)")
    return doc
