"""`teams://TENANT?team=ID|NAME[&channels=a,b]`: Microsoft Teams channel messages and replies (Microsoft Graph v1.0).

Channels come from `/teams/{id}/channels`; each channel's messages from `.../messages` and each
message's replies from `.../messages/{id}/replies`, following `@odata.nextLink` pages. A message's
subject, body (HTML turned into text) and card attachments make one blob, with the team, channel,
message id, author, time and the message's webUrl as provenance. A team given by name is looked
up with `/teams?$filter=displayName eq '…'`.

Credentials: TEAMS_TOKEN (a Graph access token with ChannelMessage.Read.All, Channel.ReadBasic.All),
or AZURE_CLIENT_ID + AZURE_CLIENT_SECRET (an app registration in TENANT; the client-credentials
grant is run against login.microsoftonline.com). Bases: $TOKENWARD_TEAMS_BASE_URL (default
https://graph.microsoft.com/v1.0), $TOKENWARD_TEAMS_LOGIN_BASE_URL (default
https://login.microsoftonline.com). Incremental: per channel, the newest `lastModifiedDateTime`
read; Graph cannot filter channel messages by time, so the pages are listed again but only newer
messages and replies are scanned.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from tokenward.errors import ConfigError
from tokenward.sources.interface import Blob, SkippedItem
from tokenward.sources.live.hosting import latest, newer, text_blob
from tokenward.sources.live.interface import Api, LiveError, LiveSource, error_item, http_client, paginate

API = "https://graph.microsoft.com/v1.0"
LOGIN = "https://login.microsoftonline.com"
TOKEN_VARS = ("TEAMS_TOKEN",)
APP_VARS = ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
TAG = re.compile(r"<[^>]*>")


class TeamsSource(LiveSource):
    """Messages and replies of a team's channels."""

    kind = "teams"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.target.param("team"):
            raise ConfigError(f"{self.target.url}: name the team (teams://TENANT?team=ID or NAME)")
        self.api: Api | None = None
        self.hint = self.options.credentials.hint("TEAMS_TOKEN", "AZURE_CLIENT_ID + AZURE_CLIENT_SECRET")

    def read(self) -> Iterator[Blob | SkippedItem]:
        """Resolve the team, then read every channel asked for (all by default)."""
        self.api = http_client("Microsoft Graph", self.options.base_url("teams", API), self.options,
                               headers={"Authorization": f"Bearer {self._token()}"}, hint=self.hint)
        team_id, team = self._team(str(self.target.param("team")))
        wanted = set(self.target.items("channels"))
        for channel in list(self.pages(f"/teams/{team_id}/channels")):
            name = str(channel.get("displayName") or channel.get("id"))
            if not wanted or name in wanted or channel.get("id") in wanted:
                yield from self._channel(team_id, team, channel, name)

    def _token(self) -> str:
        """TEAMS_TOKEN, else a client-credentials token for the app registration in TENANT."""
        creds = self.options.credentials
        token = creds.get(*TOKEN_VARS)
        if token:
            return token
        client, secret = creds.get(APP_VARS[0]), creds.get(APP_VARS[1])
        if not (client and secret):
            raise LiveError(f"no Microsoft Graph credential: {self.hint}")
        login = http_client("Microsoft identity platform", self.options.base_url("teams-login", LOGIN), self.options,
                            hint=self.hint)
        try:
            response = login.request("POST", f"/{quote(self.target.host)}/oauth2/v2.0/token", data={
                "client_id": client, "client_secret": secret, "grant_type": "client_credentials",
                "scope": "https://graph.microsoft.com/.default"})
            return str(response.json()["access_token"])
        except LiveError as exc:
            raise LiveError(f"Microsoft identity platform refused the app credential (HTTP {exc.status}); "
                            f"{self.hint}", 401) from None
        except (ValueError, KeyError, TypeError):
            raise LiveError("Microsoft identity platform sent a malformed token response") from None
        finally:
            login.close()

    def pages(self, url: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every element of `value` across @odata.nextLink pages."""
        assert self.api is not None
        api = self.api

        def fetch(cursor: str | None) -> tuple[list[Any], str | None]:
            doc = api.json(cursor or url, params=None if cursor else (params or None))
            if not isinstance(doc, dict) or not isinstance(doc.get("value"), list):
                raise LiveError(f"Microsoft Graph: malformed response for {url} (no value list)")
            return [v for v in doc["value"] if isinstance(v, dict)], doc.get("@odata.nextLink") or None
        yield from paginate(fetch)

    def _team(self, team: str) -> tuple[str, str]:
        """(id, display name) of the team given by id or by name."""
        if GUID.match(team):
            return team, team
        escaped = team.replace("'", "''")  # OData string literal quoting
        found = list(self.pages("/teams", **{"$filter": f"displayName eq '{escaped}'"}))
        if not found:
            raise LiveError(f"Microsoft Graph: no team named {team!r} visible to this credential")
        return str(found[0].get("id")), team

    def _channel(self, team_id: str, team: str, channel: dict[str, Any], name: str) -> Iterator[Blob | SkippedItem]:
        """The messages and replies of one channel modified after its cursor."""
        cid = str(channel.get("id"))
        since = self.cursor(cid)
        newest = since or ""
        base = f"/teams/{team_id}/channels/{quote(cid)}/messages"
        try:
            for msg in list(self.pages(base)):
                for item in [msg, *self.pages(f"{base}/{quote(str(msg.get('id')))}/replies")]:
                    stamp = str(item.get("lastModifiedDateTime") or item.get("createdDateTime") or "")
                    if newer(stamp, since):
                        newest = latest(newest, stamp)
                        yield from self._message(item, team, name)
        except LiveError as exc:
            if exc.status == 401:
                raise
            yield error_item(f"{self.root}/{team}/#{name}", exc)
            return
        self.advance(cid, newest)

    def _message(self, msg: dict[str, Any], team: str, channel: str) -> Iterator[Blob]:
        if msg.get("deletedDateTime") or msg.get("messageType", "message") != "message":
            return
        body = msg.get("body") or {}
        content = str(body.get("content") or "")
        text = html.unescape(TAG.sub(" ", content)) if body.get("contentType") == "html" else content
        cards = [str(a.get("content") or "") for a in msg.get("attachments") or [] if isinstance(a, dict)]
        sender = (msg.get("from") or {}).get("user") or (msg.get("from") or {}).get("application") or {}
        details = [("team", team), ("channel", channel), ("message_id", str(msg.get("id"))),
                   ("reply_to", str(msg.get("replyToId") or "")), ("author", str(sender.get("displayName") or "")),
                   ("created", str(msg.get("createdDateTime") or "")), ("url", str(msg.get("webUrl") or ""))]
        parts = [str(msg.get("subject") or ""), text, *[c if c.startswith("{") else json.dumps(c) for c in cards]]
        yield from text_blob(self, "\n".join(p for p in parts if p), f"{team}/#{channel}/{msg.get('id')}", details)

    def close(self) -> None:
        """Close the HTTP client."""
        if self.api is not None:
            self.api.close()
