"""What the git hosting sources share (GitLab, Bitbucket, Azure DevOps, Hugging Face): mirrors and guarded parts.

Each repository is mirrored with the gitclone helper and read by the git source (full history, each
blob once, commit provenance); the API parts (issues, comments, logs) are read with the paging helper.
A failing part costs one skipped item; a rejected credential (HTTP 401) ends the target once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from tokenward.errors import ConfigError
from tokenward.findings import Finding
from tokenward.sources.git import GitSource
from tokenward.sources.interface import Blob, SkippedItem
from tokenward.sources.live.gitclone import git_source, mirror, mirror_dir
from tokenward.sources.live.interface import Api, LiveError, LiveSource, Target, error_item, paginate


class HostingSource(LiveSource):
    """A live source whose repositories are mirrored and scanned by the git source."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api: Api | None = None
        self.git_sources: list[GitSource] = []

    @property
    def http(self) -> Api:
        """The API client (set by read() before any part is fetched)."""
        assert self.api is not None, "read() opens the API client first"
        return self.api

    def guarded(self, location: str, items: Iterator[Blob | SkippedItem]) -> Iterator[Blob | SkippedItem]:
        """items, with a failure turned into one skipped item (the other parts go on)."""
        try:
            yield from items
        except LiveError as exc:
            if exc.status == 401:
                raise  # a rejected credential fails every later call too: say it once
            yield error_item(location, exc)

    def clone(self, url: str, web: str, name: str, user: str, secret: str | None) -> Iterator[Blob | SkippedItem]:
        """Mirror one repository (the secret goes only to https remotes) and yield what the git source reads."""
        dest = mirror_dir(self.options, self.kind, urlsplit(web).netloc or self.target.host, name)
        mirror(url, dest, user=user, secret=secret)
        source = git_source(dest, web, self.options)
        self.git_sources.append(source)
        yield from source

    def observe(self, findings: list[Finding]) -> None:
        """Let the mirrored repositories start their provenance walk early (the git sources decide)."""
        for source in self.git_sources:
            source.observe(findings)

    def annotate(self, findings: list[Finding]) -> list[Finding]:
        """Commit provenance for the mirrored repositories' findings (the git sources do it)."""
        for source in self.git_sources:
            findings = source.annotate(findings)
        return findings

    def unannotated(self) -> list[SkippedItem]:
        """What the mirrored repositories' annotation could not do."""
        return [item for source in self.git_sources for item in source.unannotated()]

    def counts(self) -> dict[str, int]:
        """The mirrored repositories' history counters, summed."""
        total: Counter[str] = Counter()
        for source in self.git_sources:
            total.update(source.counts())
        return dict(total)

    def json_list(self, url: str, key: str | None, params: dict[str, Any] | None = None) -> tuple[list[Any], Any]:
        """GET a JSON list (or the list under key); (items, response) — LiveError when malformed."""
        assert self.api is not None
        response = self.api.get(url, params=params)
        try:
            doc = response.json()
        except ValueError:
            raise LiveError(f"{self.api.service} sent a malformed JSON body for {urlsplit(url).path}") from None
        items = doc.get(key) if key is not None and isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise LiveError(f"{self.api.service}: expected a list from {urlsplit(url).path}")
        return [i for i in items if isinstance(i, dict)], (doc, response)

    def close(self) -> None:
        """Close the HTTP client."""
        if self.api is not None:
            self.api.close()


def count_param(target: Target, name: str, default: int) -> int:
    """A positive integer query parameter (`?recent=20`); ConfigError for anything else."""
    raw = target.param(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{target.url}: {name}= takes a positive whole number, not {raw!r}")
    return int(raw)


def text_blob(source: LiveSource, text: str, path: str, details: list[tuple[str, str]]) -> Iterator[Blob]:
    """One API text (issue body, comment, log) as a blob, empty texts skipped."""
    if text.strip():
        source.stats["items"] += 1
        yield Blob(text.encode("utf-8", "surrogatepass"), source.origin(path, tuple((k, v) for k, v in details if v)))


def newer(stamp: str, since: str | None) -> bool:
    """True when an ISO 8601 stamp is after the cursor (compared as times: fractions and offsets vary)."""
    if not stamp:
        return False
    when, cursor = _when(stamp), _when(since or "")
    if when is None or cursor is None:
        return stamp > (since or "")  # not a time we can parse: text order, as the provider wrote it
    return when > cursor


def latest(a: str, b: str) -> str:
    """The later of two ISO 8601 stamps ('' is earlier than any)."""
    return b if newer(b, a or None) else a


def _when(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


__all__ = ["HostingSource", "count_param", "latest", "newer", "paginate", "text_blob"]
