"""Live sources: scan targets given as URLs (s3://, slack://, github://, jira://…) through the providers' APIs.

`open_target(url, options)` turns one URL into a Source. Each source module (and httpx, boto3) is
imported only when a target of its scheme is scanned: a filesystem scan's start-up pays nothing.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from tokenward.errors import ConfigError

if TYPE_CHECKING:
    from tokenward.sources.interface import Source
    from tokenward.sources.live.interface import LiveOptions, Target

__all__ = ["SCHEMES", "LiveOptions", "is_live_target", "live_options", "new_cursors", "open_target"]

# scheme → "module:Class" under tokenward.sources.live
SCHEMES: dict[str, str] = {
    "s3": "s3:S3Source",
    "slack": "slack:SlackSource",
    "github": "github:GithubSource",
    "jira": "atlassian:JiraSource",
    "confluence": "atlassian:ConfluenceSource",
    "docker": "registry:RegistrySource",
    "gitlab": "gitlab:GitlabSource",
    "bitbucket": "bitbucket:BitbucketSource",
    "azure-devops": "azure_devops:AzureDevopsSource",
    "huggingface": "huggingface:HuggingfaceSource",
    "gs": "buckets:GcsSource",
    "azblob": "buckets:AzureBlobSource",
    "postman": "postman:PostmanSource",
    "teams": "teams:TeamsSource",
}
URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
WEB_HOSTS = {"github.com": "github", "www.github.com": "github"}  # https URLs that name a live source


def _scheme_of(target: Target) -> str | None:
    if target.scheme in SCHEMES:
        return target.scheme
    if target.scheme in ("https", "http"):
        return WEB_HOSTS.get(target.host.lower())
    return None


def is_live_target(text: str) -> bool:
    """True when a command-line target is a URL (a live source, or a URL scheme we do not know)."""
    return bool(URL_LIKE.match(text))


def open_target(url: str, options: LiveOptions) -> Source:
    """The source that reads one target URL; ConfigError for an unknown scheme or a malformed URL."""
    from tokenward.sources.live.interface import parse_target

    target = parse_target(url)
    scheme = _scheme_of(target)
    if scheme is None:
        known = ", ".join(f"{s}://" for s in SCHEMES)
        raise ConfigError(f"{url}: not a supported target (files, directories, '-', or {known}, "
                          "https://github.com/ORG[/REPO])")
    if not target.host:
        raise ConfigError(f"{url}: the URL names no {'bucket' if scheme in ('s3', 'gs') else 'workspace, org or site'}")
    module, name = SCHEMES[scheme].split(":")
    cls = getattr(importlib.import_module(f"tokenward.sources.live.{module}"), name)
    source: Source = cls(target, options)
    return source


def live_options(*, full: bool, auth_file: Path | None, db: str | None, use_db: bool, max_size: int,
                 scope: object = None, settings: object = None) -> LiveOptions:
    """Options for the live targets of one scan: credentials, stored cursors (from --db unless --no-db)."""
    from tokenward.sources.live.interface import Credentials, LiveOptions

    credentials = Credentials.load(auth_file)
    cursors: dict[tuple[str, str], str] = {}
    if use_db and not full:
        from tokenward.store.cursors import CursorStore

        with CursorStore.open(db) as store:
            cursors = store.load()
    return LiveOptions(credentials=credentials, cursors=cursors, full=full, max_size=max_size, scope=scope,
                       settings=settings)


def new_cursors(sources: Iterable[object]) -> dict[tuple[str, str], str]:
    """The cursors the live sources of a finished scan advanced to (to save once the scan is recorded)."""
    interface = sys.modules.get("tokenward.sources.live.interface")
    if interface is None:  # no live source was opened (their module imports httpx: 40 ms a scan otherwise)
        return {}
    out: dict[tuple[str, str], str] = {}
    for source in sources:
        if isinstance(source, interface.LiveSource):
            out.update(source.new_cursors)
    return out


def save_cursors(db: str | None, sources: Iterable[object], scan_id: str | None = None) -> int:
    """Store the advanced cursors in the inventory at db; returns how many."""
    cursors = new_cursors(sources)
    if not cursors:
        return 0
    from tokenward.store.cursors import CursorStore

    with CursorStore.open(db) as store:
        return store.save(cursors, scan_id)
