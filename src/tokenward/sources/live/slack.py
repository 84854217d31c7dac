"""`slack://WORKSPACE?channels=general,C0123|query=…`: messages, thread replies and files through the Web API.

Channels are read with conversations.history (cursor pagination, `oldest` = the stored cursor) and
each thread with conversations.replies; files shared in messages are downloaded and go through the
expanders. `query=` reads search.messages instead (a user token with search:read). Messages are
turned into text exactly as in a Slack export (expand.slack), so both give the same findings and
provenance: channel, time, author, thread and the message's permalink.

Credential: SLACK_TOKEN (a bot token with channels:history, groups:history, channels:read, files:read,
users:read; or a user token). API base: $TOKENWARD_SLACK_BASE_URL (default https://slack.com/api).
Incremental: per channel, the newest message ts read (replies to threads older than it are not re-read).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from tokenward.expand.slack import message_details, message_texts, users_map
from tokenward.sources.interface import Blob, SkippedItem
from tokenward.sources.live.interface import (
    LiveError,
    LiveSource,
    content_blob,
    error_item,
    http_client,
    paginate,
    too_large,
)

API = "https://slack.com/api"
PAGE = 200
TOKEN_VARS = ("SLACK_TOKEN",)
CREDENTIAL_ERRORS = frozenset({"invalid_auth", "not_authed", "token_expired", "token_revoked", "account_inactive"})
CHANNEL_ERRORS = {
    "not_in_channel": "the app is not a member of the channel (invite it, or use a user token)",
    "channel_not_found": "no such channel, or not visible to this token",
    "missing_scope": "the token lacks the scope to read it (channels:history / groups:history)",
    "access_denied": "access denied",
}
RATE_LIMIT_RETRIES = 5


class SlackSource(LiveSource):
    """Messages, thread replies and shared files of a workspace's channels."""

    kind = "slack"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api: Any = None
        self.team_url = f"https://{self.target.host}.slack.com/"
        self.users: dict[str, str] = {}

    def read(self) -> Iterator[Blob | SkippedItem]:
        """Authenticate, then read each channel (or the search results)."""
        token = self.options.credentials.get(*TOKEN_VARS)
        if not token:
            raise LiveError(f"no Slack credential: {self.options.credentials.hint(*TOKEN_VARS)}")
        hint = self.options.credentials.hint(*TOKEN_VARS)
        self.api = http_client("Slack", self.options.base_url("slack", API), self.options,
                               headers={"Authorization": f"Bearer {token}"}, hint=hint)
        identity = self.call("auth.test")
        self.team_url = str(identity.get("url") or self.team_url)
        self.users = self._users()
        query = self.target.param("query")
        if query:
            yield from self._search(query)
            return
        for channel_id, name in self._channels():
            yield from self._channel(channel_id, name)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One Web API call: ok:false becomes LiveError with Slack's error code; `ratelimited` is retried."""
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            doc = self.api.json(f"/{method}", params=params)
            if not isinstance(doc, dict):
                raise LiveError(f"Slack {method}: malformed response (not a JSON object)")
            if doc.get("ok") is True:
                return doc
            error = str(doc.get("error") or "unknown_error")
            if error != "ratelimited" or attempt == RATE_LIMIT_RETRIES:
                raise LiveError(self._reason(method, error))
            self.api.wait(attempt, None)
        raise AssertionError("unreachable")

    def _reason(self, method: str, error: str) -> str:
        if error in CREDENTIAL_ERRORS:
            return (f"Slack rejected the credential ({error}: expired, revoked or wrong); "
                    f"{self.options.credentials.hint(*TOKEN_VARS)}")
        return f"Slack {method}: {error}" + (f" ({CHANNEL_ERRORS[error]})" if error in CHANNEL_ERRORS else "")

    def _pages(self, method: str, key: str, **params: Any) -> Iterator[Any]:
        """Every element of `key` across cursor-paginated pages (response_metadata.next_cursor)."""
        def fetch(cursor: str | None) -> tuple[list[Any], str | None]:
            doc = self.call(method, **params, **({"cursor": cursor} if cursor else {}))
            items = doc.get(key)
            if not isinstance(items, list):
                raise LiveError(f"Slack {method}: malformed response (no {key} list)")
            return items, str((doc.get("response_metadata") or {}).get("next_cursor") or "") or None
        yield from paginate(fetch)

    def _users(self) -> dict[str, str]:
        try:
            return users_map(list(self._pages("users.list", "members", limit=PAGE)))
        except LiveError:
            return {}  # without users:read, authors are shown by id; nothing else is lost

    def _channels(self) -> list[tuple[str, str]]:
        """(id, name) of the channels asked for, or of every channel the token can list."""
        wanted = [c.lstrip("#") for c in self.target.items("channels")]
        if wanted and all(_is_id(c) for c in wanted):
            return [(c, c) for c in wanted]  # ids need no listing (and no channels:read scope)
        listed = {str(c.get("name")): str(c.get("id")) for c in self._pages(
            "conversations.list", "channels", types="public_channel,private_channel", limit=PAGE,
            exclude_archived="false") if isinstance(c, dict)}
        if not wanted:
            return sorted((cid, name) for name, cid in listed.items())
        return [(c, c) if _is_id(c) else (listed.get(c, ""), c) for c in wanted]

    def _channel(self, channel_id: str, name: str) -> Iterator[Blob | SkippedItem]:
        """The messages (and their threads and files) of one channel newer than its cursor."""
        location = f"{self.root}/#{name}"
        if not channel_id:
            yield SkippedItem(location, "Slack: no such channel, or not visible to this token", "error")
            return
        oldest = self.cursor(channel_id)
        newest = oldest or ""
        try:
            params = {"channel": channel_id, "limit": PAGE, **({"oldest": oldest} if oldest else {})}
            for msg in self._pages("conversations.history", "messages", **params):
                if isinstance(msg, dict) and str(msg.get("ts", "")) > (oldest or ""):
                    newest = max(newest, str(msg.get("ts", "")))
                    yield from self._message(msg, channel_id, name)
                    yield from self._thread(msg, channel_id, name)
        except LiveError as exc:
            yield error_item(location, exc)
            return
        self.advance(channel_id, newest)

    def _thread(self, msg: dict[str, Any], channel_id: str, name: str) -> Iterator[Blob | SkippedItem]:
        ts = str(msg.get("ts", ""))
        if not msg.get("reply_count") or msg.get("thread_ts") not in (None, ts):
            return
        for reply in self._pages("conversations.replies", "messages", channel=channel_id, ts=ts, limit=PAGE):
            if isinstance(reply, dict) and reply.get("ts") != ts:  # the parent comes first in every page
                yield from self._message(reply, channel_id, name)

    def _message(self, msg: dict[str, Any], channel_id: str, name: str) -> Iterator[Blob | SkippedItem]:
        """The message's text as one blob, then its files."""
        self.stats["items"] += 1
        details = self._details(msg, channel_id, name)
        texts = message_texts(msg)
        if texts:
            yield Blob("\n".join(texts).encode("utf-8", "surrogatepass"),
                       self.origin(f"#{name}/{msg.get('ts', '')}", details))
        for file in msg.get("files") or []:
            if isinstance(file, dict):
                yield self._file(file, details, name, str(msg.get("ts", "")))

    def _details(self, msg: dict[str, Any], channel_id: str, name: str) -> tuple[tuple[str, str], ...]:
        """The export's details (channel, ts, user, thread) with the workspace's real permalink."""
        details = dict(message_details(msg, name, channel_id, self.users))
        details["permalink"] = self.team_url.rstrip("/") + details["permalink"]
        if "?thread_ts=" in details["permalink"]:
            details["permalink"] += f"&cid={channel_id}"
        return (("channel_id", channel_id), *details.items())

    def _file(self, file: dict[str, Any], details: tuple[tuple[str, str], ...], name: str,
              ts: str) -> Blob | SkippedItem:
        """A file shared in a message, downloaded with the token only from Slack's own hosts."""
        title = str(file.get("name") or file.get("title") or file.get("id") or "file")
        location = f"{self.root}/#{name}/{ts}/{title}"
        url = str(file.get("url_private_download") or file.get("url_private") or "")
        if not url or file.get("mode") in ("tombstone", "hidden_by_limit", "external"):
            return SkippedItem(location, "Slack file without downloadable content")
        if (skip := too_large(int(file.get("size") or 0), location, self.options)) is not None:
            return skip
        if not self._trusted(url):
            return SkippedItem(location, f"file hosted outside Slack ({urlsplit(url).hostname}): not downloaded "
                                         "(the token is sent to Slack hosts only)")
        try:
            data = self.api.get(url).content
        except LiveError as exc:
            return error_item(location, exc)
        extra = (("file", title), ("file_id", str(file.get("id", ""))),
                 ("file_permalink", str(file.get("permalink", ""))))
        origin = self.origin(f"#{name}/{ts}/{title}", details + extra)
        return content_blob(data[: self.options.max_size + 1], origin, location)

    def _trusted(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        api_host = (urlsplit(self.options.base_url("slack", API)).hostname or "").lower()
        return host == api_host or host == "slack.com" or host.endswith(".slack.com")

    def _search(self, query: str) -> Iterator[Blob | SkippedItem]:
        """search.messages results (page-numbered), each with the permalink Slack gives."""
        page, pages = 1, 1
        while page <= pages:
            doc = self.call("search.messages", query=query, count=100, page=page)
            block = doc.get("messages") or {}
            pages = int((block.get("paging") or {}).get("pages") or 1)
            for match in block.get("matches") or []:
                if isinstance(match, dict):
                    channel = match.get("channel") or {}
                    cid, name = str(channel.get("id", "")), str(channel.get("name") or channel.get("id", ""))
                    details = self._details(match, cid, name)
                    if match.get("permalink"):
                        details = (*[d for d in details if d[0] != "permalink"], ("permalink", str(match["permalink"])))
                    self.stats["items"] += 1
                    yield Blob("\n".join(message_texts(match)).encode("utf-8", "surrogatepass"),
                               self.origin(f"#{name}/{match.get('ts', '')}", details))
            page += 1

    def close(self) -> None:
        """Close the HTTP client."""
        if self.api is not None:
            self.api.close()


def _is_id(value: str) -> bool:
    """Slack conversation ids: C… (public), G… (private/group), D… (DM), upper-case alphanumerics."""
    return len(value) >= 9 and value[0] in "CGD" and value.isalnum() and value.isupper()
