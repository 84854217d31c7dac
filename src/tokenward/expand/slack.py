"""Slack workspace exports (the .zip or its unpacked folder): one blob per message.

Layout (Slack's documented export): users.json, channels.json (groups.json, mpims.json, dms.json)
and <channel>/<YYYY-MM-DD>.json, each a JSON array of messages. Day files are parsed element by
element, so a huge channel never sits in memory as objects.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import IO, Any

from tokenward.expand.base import Ctx, Details, Item, Member, child, error, read_zip_member, take_entry, text_blob
from tokenward.expand.gate import Text, gated, make_text
from tokenward.expand.jsonstream import MalformedJSON, iter_json_array
from tokenward.sources.interface import Blob, Origin

WHOLE_PARSE = 16 << 20  # day files up to this size are parsed in one call; larger ones are streamed
DAY_FILE = re.compile(r"(?:^|/)([^/]+)/(\d{4}-\d\d-\d\d)\.json$")
CHANNEL_LISTS = ("channels.json", "groups.json", "mpims.json", "dms.json")
META_KEYS = frozenset({
    "type", "subtype", "ts", "thread_ts", "user", "team", "client_msg_id", "bot_id", "app_id", "user_team",
    "source_team", "parent_user_id", "latest_reply", "id", "avatar_hash", "color", "style", "mimetype",
    "filetype", "pretty_type", "mode", "created", "timestamp", "user_profile", "reactions", "replies",
    "reply_users", "last_read", "icons", "event_ts", "channel", "block_id", "action_id", "name_normalized",
})


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@lru_cache(maxsize=64)
def _ts_iso(ts: str) -> str:
    try:
        return datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        return ts


def users_map(users: Any) -> dict[str, str]:
    """Slack user id → the name people know them by."""
    out: dict[str, str] = {}
    for u in users if isinstance(users, list) else []:
        if isinstance(u, dict) and isinstance(u.get("id"), str):
            profile = _dict(u.get("profile"))
            name = u.get("real_name") or profile.get("real_name") or profile.get("display_name") or u.get("name")
            out[u["id"]] = str(name or u["id"])
    return out


def channels_map(lists: list[Any]) -> dict[str, str]:
    """Channel folder name → channel id (DM folders are named by id)."""
    out: dict[str, str] = {}
    for channels in lists:
        for c in channels if isinstance(channels, list) else []:
            if isinstance(c, dict) and isinstance(c.get("id"), str):
                out[str(c.get("name") or c["id"])] = c["id"]
    return out


RICH = ("blocks", "attachments", "files", "message", "previous_message", "root", "bot_profile")


def message_texts(msg: dict[str, Any]) -> list[str]:
    """The human text of a message: its top-level strings, then what its rich parts hold."""
    out = [v for k, v in msg.items() if type(v) is str and v and k not in META_KEYS]
    for key in RICH:
        if key in msg:
            strings(msg[key], out, key)
    return out


def strings(value: Any, out: list[str], key: str = "") -> None:
    """Collect the human text of a message (text, blocks, attachments, files), skipping metadata."""
    if isinstance(value, str):
        if key not in META_KEYS and value and value not in out:
            out.append(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in META_KEYS:
                strings(v, out, k)
    elif isinstance(value, list):
        for v in value:
            strings(v, out, key)


def message_details(msg: dict[str, Any], channel: str, channel_id: str, users: dict[str, str]) -> Details:
    """Channel, time, author, thread and a permalink-style reference of one message."""
    if msg.get("subtype") == "message_changed" and isinstance(msg.get("message"), dict):
        msg = {**msg["message"], "ts": msg.get("ts"), "edited": True}
    ts = str(msg.get("ts", ""))
    profile = _dict(msg.get("user_profile"))
    user_id = str(msg.get("user") or msg.get("bot_id") or "")
    author = users.get(user_id) or profile.get("real_name") or msg.get("username") or user_id
    details: list[tuple[str, str]] = [("channel", f"#{channel}"), ("ts", _ts_iso(ts)), ("user", str(author))]
    link = f"/archives/{channel_id or channel}/p{ts.replace('.', '')}"
    thread = msg.get("thread_ts")
    if isinstance(thread, str) and thread != ts:
        details.append(("thread", _ts_iso(thread)))
        link += f"?thread_ts={thread}"
    if msg.get("edited") or msg.get("subtype") == "message_changed":
        details.append(("edited", "yes"))
    details.append(("permalink", link))
    return tuple(details)


def _messages(stream: IO[bytes], size: int) -> Iterator[Any]:
    """The messages of a day file: parsed whole when small (fast), element by element when large."""
    if size <= WHOLE_PARSE:
        data = stream.read()
        try:
            doc = json.loads(data)
        except ValueError:
            doc = None  # damaged: the streaming parser below says where, and keeps what precedes
        if isinstance(doc, list):
            yield from doc
            return
        stream = io.BytesIO(data)
    yield from iter_json_array(stream)


def day_messages(stream: IO[bytes], size: int, origin: Origin, name: str | None, channel: str, channel_id: str,
                 users: dict[str, str], ctx: Ctx) -> Iterator[Item]:
    """One blob per message (that a rule may match) of a day file; a malformed file's unparsed rest as text."""
    def texts() -> Iterator[Text]:
        for msg in _messages(stream, size):
            if isinstance(msg, dict):
                found = message_texts(msg)
                if found:
                    yield make_text("\n".join(found)), partial(_message_blob, msg)

    def _message_blob(msg: dict[str, Any], data: bytes) -> Blob:
        return Blob(data, child(origin, "slack", name, message_details(msg, channel, channel_id, users)))

    try:
        yield from gated(texts(), ctx)
    except MalformedJSON as exc:
        yield error(f"{origin.path}!/{name}" if name else origin.path, f"malformed Slack export JSON: {exc}")
        if exc.remainder.strip():
            yield text_blob(origin, "slack", exc.remainder, (("part", "unparsed remainder"),), name)


def is_slack_zip(names: list[str]) -> bool:
    """True for a Slack export zip (users.json and channels.json at its root)."""
    return "users.json" in names and "channels.json" in names


def _load(zf: zipfile.ZipFile, name: str) -> Any:
    try:
        with zf.open(name) as f:
            return json.load(f)
    except (KeyError, ValueError, zipfile.BadZipFile, OSError):
        return None


def expand_slack_zip(blob: Blob, zf: zipfile.ZipFile, ctx: Ctx) -> Iterator[Item]:
    """A Slack export zip: day files member by member, other members scanned as files."""
    users = users_map(_load(zf, "users.json"))
    ids = channels_map([_load(zf, n) for n in CHANNEL_LISTS if n in zf.namelist()])
    for info in zf.infolist():
        if ctx.budget.stopped or info.is_dir():
            continue
        loc = f"{blob.origin.path}!/{info.filename}"
        day = DAY_FILE.search(info.filename)
        if day is None:
            data, problem = read_zip_member(zf, info, loc, ctx)
            if problem:
                yield problem
            if data is not None:
                yield Member(Blob(data, child(blob.origin, "archive", info.filename)))
            continue
        if (skip := take_entry(ctx, loc)) is not None:
            yield skip
            return
        channel = day.group(1)
        with zf.open(info) as stream:
            yield from day_messages(stream, info.file_size, blob.origin, info.filename, channel, ids.get(channel, ""),
                                    users, ctx)


@lru_cache(maxsize=16)
def _folder_maps(folder: str) -> tuple[dict[str, str], dict[str, str]]:
    """users and channel ids of an unpacked export folder (read once per folder per worker)."""
    def load(name: str) -> Any:
        try:
            return json.loads((Path(folder) / name).read_bytes())
        except (OSError, ValueError):
            return None
    return users_map(load("users.json")), channels_map([load(n) for n in CHANNEL_LISTS])


def expand_day_file(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """A day file on its own (unpacked export or git): channel from its folder, names from users.json."""
    day = DAY_FILE.search(blob.origin.path)
    channel = day.group(1) if day else Path(blob.origin.path).stem
    users: dict[str, str] = {}
    ids: dict[str, str] = {}
    if blob.origin.kind == "file":
        path = Path(blob.origin.path)
        full = path if path.is_absolute() else Path(blob.origin.root) / path
        users, ids = _folder_maps(str(full.parent.parent))
    yield from day_messages(io.BytesIO(blob.data), len(blob.data), blob.origin, None, channel, ids.get(channel, ""),
                            users, ctx)
