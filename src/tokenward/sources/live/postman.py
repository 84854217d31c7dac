"""`postman://WORKSPACE_ID`: a workspace's collections, environments and global variables (Postman API).

Collections and environments are listed for the workspace (`/collections?workspace=`,
`/environments?workspace=`) and each is fetched whole (`/collections/{uid}`, `/environments/{uid}`):
request URLs, headers, auth blocks, bodies, scripts and variable values all reach the matcher as the
JSON Postman stores. Globals come from `/workspaces/{id}/global-variables`. `?collections=0`,
`?environments=0`, `?globals=0` turn parts off.

Credential: POSTMAN_API_KEY (sent as X-Api-Key). API base: $TOKENWARD_POSTMAN_BASE_URL (default
https://api.getpostman.com). Incremental: the newest `updatedAt` per part; globals carry no time, so
their cursor is a keyed digest (HMAC with the tokenward key, never the values) of what was read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

from tokenward.identity import load_key
from tokenward.sources.interface import Blob, SkippedItem
from tokenward.sources.live.hosting import latest, newer
from tokenward.sources.live.interface import Api, LiveError, LiveSource, error_item, http_client, paginate

API = "https://api.getpostman.com"
TOKEN_VARS = ("POSTMAN_API_KEY",)
PAGE = 100
PARTS = (("collections", "collection"), ("environments", "environment"))


class PostmanSource(LiveSource):
    """Collections, environments and globals of one workspace."""

    kind = "postman"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api: Api | None = None

    def read(self) -> Iterator[Blob | SkippedItem]:
        """Each part in turn; a failing part is one skipped item."""
        key = self.options.credentials.get(*TOKEN_VARS)
        hint = self.options.credentials.hint(*TOKEN_VARS)
        if not key:
            raise LiveError(f"no Postman credential: {hint}")
        self.api = http_client("Postman", self.options.base_url("postman", API), self.options,
                               headers={"X-Api-Key": key}, hint=hint)
        for plural, singular in PARTS:
            if self.target.flag(plural, True):
                yield from self._guarded(f"{self.root}/{plural}", self._part(plural, singular))
        if self.target.flag("globals", True):
            yield from self._guarded(f"{self.root}/globals", self._globals())

    def _guarded(self, location: str, items: Iterator[Blob | SkippedItem]) -> Iterator[Blob | SkippedItem]:
        try:
            yield from items
        except LiveError as exc:
            if exc.status == 401:
                raise  # an invalid API key fails every later call too: say it once
            yield error_item(location, exc)

    def _doc(self, url: str, **params: Any) -> dict[str, Any]:
        assert self.api is not None
        doc = self.api.json(url, params=params or None)
        if not isinstance(doc, dict):
            raise LiveError(f"Postman: malformed response for {url} (not a JSON object)")
        return doc

    def _listing(self, plural: str) -> Iterator[dict[str, Any]]:
        """The workspace's collections or environments (limit/offset pages where the API pages them)."""
        seen: set[str] = set()

        def fetch(cursor: str | None) -> tuple[list[Any], str | None]:
            offset = int(cursor or 0)
            items = self._doc(f"/{plural}", workspace=self.target.host, limit=PAGE, offset=offset).get(plural)
            if not isinstance(items, list):
                raise LiveError(f"Postman: malformed {plural} listing (no {plural} list)")
            fresh = [i for i in items if isinstance(i, dict) and str(i.get("uid")) not in seen]
            seen.update(str(i.get("uid")) for i in fresh)
            return fresh, str(offset + len(items)) if len(items) >= PAGE and fresh else None
        yield from paginate(fetch)

    def _part(self, plural: str, singular: str) -> Iterator[Blob | SkippedItem]:
        """Every collection (or environment) updated after the cursor, fetched whole."""
        since = self.cursor(plural)
        newest, failed = since or "", False
        for entry in list(self._listing(plural)):
            updated = str(entry.get("updatedAt") or "")
            if newer(updated, since) or not updated:
                newest = latest(newest, updated)
                item = self._element(plural, singular, entry)
                failed |= isinstance(item, SkippedItem)
                yield item
        if not failed:
            self.advance(plural, newest)

    def _element(self, plural: str, singular: str, entry: dict[str, Any]) -> Blob | SkippedItem:
        uid, name = str(entry.get("uid") or entry.get("id")), str(entry.get("name") or "")
        location = f"{self.root}/{plural}/{uid}"
        try:
            doc = self._doc(f"/{plural}/{uid}").get(singular)
        except LiveError as exc:
            return error_item(location, exc)
        self.stats["items"] += 1
        details = (("workspace", self.target.host), (singular, name), ("uid", uid),
                   ("updated", str(entry.get("updatedAt") or "")))
        data = json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8", "surrogatepass")
        origin = self.origin(f"{plural}/{name or uid}.postman_{singular}.json", tuple((k, v) for k, v in details if v))
        return Blob(data, origin)

    def _globals(self) -> Iterator[Blob | SkippedItem]:
        """The workspace's global variables, when they changed since the last read."""
        values = self._doc(f"/workspaces/{self.target.host}/global-variables").get("values")
        if not isinstance(values, list):
            raise LiveError("Postman: malformed global-variables response (no values list)")
        data = json.dumps(values, ensure_ascii=False, indent=1).encode("utf-8", "surrogatepass")
        digest = hmac.new(load_key(), b"postman globals\0" + data, hashlib.sha256).hexdigest()[:32]
        if digest != self.cursor("globals") and values:
            self.stats["items"] += 1
            yield Blob(data, self.origin("globals.postman_globals.json", (("workspace", self.target.host),
                                                                         ("part", "globals"))))
        self.advance("globals", digest)
