"""Microsoft Teams exports: Graph API chatMessage JSON (channel or chat messages, `{"value": [...]}`)
and the personal data export (messages.json: conversations → MessageList). One blob per message."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from functools import partial
from typing import Any

from tokenward.expand.base import Ctx, Details, Item, child, error
from tokenward.expand.gate import Text, gated, make_text
from tokenward.expand.textutil import json_strings
from tokenward.sources.interface import Blob, Origin

GRAPH_SKIP = frozenset({"id", "etag", "@odata.type", "@odata.context", "contentType", "messageType", "importance",
                        "locale", "createdDateTime", "lastModifiedDateTime", "lastEditedDateTime", "deletedDateTime",
                        "replyToId", "channelIdentity", "from", "chatId", "mentions", "reactions", "webUrl",
                        "userIdentityType", "tenantId", "policyViolation", "eventDetail", "messageHistory"})


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _name(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    for who in ("user", "application", "device"):
        if isinstance(value.get(who), dict) and value[who].get("displayName"):
            return str(value[who]["displayName"])
    return ""


def graph_details(msg: dict[str, Any], team: str, channel: str) -> Details:
    """Team, channel (or chat), sender, time and message id of a Graph chatMessage."""
    ident = _dict(msg.get("channelIdentity"))
    out = [("team", team or str(ident.get("teamId") or "")), ("channel", channel or str(ident.get("channelId") or ""))]
    if msg.get("chatId"):
        out.append(("chat", str(msg["chatId"])))
    out += [("sender", _name(msg.get("from"))), ("time", str(msg.get("createdDateTime") or "")),
            ("message_id", str(msg.get("id") or ""))]
    if msg.get("replyToId"):
        out.append(("reply_to", str(msg["replyToId"])))
    if msg.get("lastEditedDateTime"):
        out.append(("edited", str(msg["lastEditedDateTime"])))
    return tuple((k, v) for k, v in out if v)


def _make(origin: Origin, details: Details, data: bytes) -> Item:
    return Blob(data, child(origin, "teams", None, details))


def _graph(origin: Origin, doc: Any) -> Iterator[Text]:
    top = doc if isinstance(doc, dict) else {}
    team = str(top.get("teamDisplayName") or top.get("teamName") or "")
    channel = str(top.get("channelDisplayName") or top.get("channelName") or "")
    messages = top.get("value") or top.get("messages") or ([top] if "body" in top else []) if top else doc
    for msg in messages if isinstance(messages, list) else []:
        if isinstance(msg, dict):
            text = html.unescape("\n".join(json_strings(msg, [], GRAPH_SKIP)))
            if text.strip():
                yield make_text(text), partial(_make, origin, graph_details(msg, team, channel))


def _personal(origin: Origin, doc: dict[str, Any]) -> Iterator[Text]:
    for conv in doc.get("conversations") or []:
        if not isinstance(conv, dict):
            continue
        props = _dict(conv.get("threadProperties"))
        team = str(props.get("spaceThreadTopic") or "")
        channel = str(conv.get("displayName") or props.get("topic") or conv.get("id") or "")
        for msg in conv.get("MessageList") or []:
            if isinstance(msg, dict) and msg.get("content"):
                sender = str(msg.get("displayName") or msg.get("from") or "")
                time, mid = str(msg.get("originalarrivaltime") or ""), str(msg.get("id") or "")
                details = (("team", team), ("channel", channel), ("sender", sender), ("time", time),
                           ("message_id", mid))
                text = html.unescape(str(msg["content"]))
                yield make_text(text), partial(_make, origin, tuple((k, v) for k, v in details if v))


def expand_teams(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """A Teams export JSON file."""
    try:
        doc = json.loads(blob.data)
    except ValueError as exc:
        yield error(blob.origin.path, f"malformed Teams export JSON: {exc}")
        yield blob
        return
    personal = isinstance(doc, dict) and "conversations" in doc
    texts = _personal(blob.origin, doc) if personal else _graph(blob.origin, doc)
    yield from gated(texts, ctx)
