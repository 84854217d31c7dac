"""Notes and mail: Markdown notes (Obsidian, Notion export) split by heading, .eml and .mbox messages."""

from __future__ import annotations

import email
import email.header
import email.policy
import re
from collections.abc import Iterator
from email.message import Message

from tokenward.expand.base import Ctx, Details, Item, Member, child, padded, take_entry, text_blob
from tokenward.sources.interface import Blob, Origin

MARKS = re.compile(rb"^(?:(```|~~~)|(#{1,6})[ \t]+([^\r\n]*?)[ \t#]*\r?$)", re.MULTILINE)
MBOX_FROM = re.compile(rb"^From [^\r\n]*\r?\n", re.MULTILINE)
MAX_SECTIONS = 300
FOLD = re.compile(r"\r?\n(?=[ \t])")
DETAIL_HEADERS = (("message", "Subject"), ("from", "From"), ("date", "Date"), ("message_id", "Message-ID"))


def headings(data: bytes) -> list[tuple[int, str]]:
    """(offset, heading path like 'Setup > Tokens') of each ATX heading outside code fences."""
    out: list[tuple[int, str]] = []
    stack: list[tuple[int, str]] = []
    fence: bytes | None = None
    for m in MARKS.finditer(data):
        if m.group(1):
            fence = None if fence == m.group(1) else fence or m.group(1)
        elif fence is None and len(out) < MAX_SECTIONS:
            level = len(m.group(2))
            stack = [s for s in stack if s[0] < level] + [(level, m.group(3).decode("utf-8", "replace"))]
            out.append((m.start(), " > ".join(title for _, title in stack)))
    return out


def expand_markdown(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """A Markdown note: one blob per heading section, padded so lines keep their file numbers."""
    marks = headings(blob.data)
    if not marks or sum(blob.data.count(b"\n", 0, off) for off, _ in marks) > 2 * len(blob.data) + (1 << 20):
        yield blob
        return
    if marks[0][0] > 0:
        marks.insert(0, (0, ""))
    for i, (start, title) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else len(blob.data)
        first = blob.data.count(b"\n", 0, start) + 1
        text = padded(blob.data[start:end].decode("utf-8", "surrogateescape"), first)
        yield text_blob(blob.origin, "notes", text, (("heading", title),) if title else ())


def header_text(value: object) -> str:
    """A header value as a reader sees it: unfolded, RFC 2047 encoded words decoded (errors leave it raw)."""
    text = FOLD.sub("", str(value))  # str(): a header with 8-bit bytes comes as an email.header.Header
    if "=?" not in text:
        return text
    try:
        return str(email.header.make_header(email.header.decode_header(text)))
    except (ValueError, LookupError, UnicodeError):  # a malformed encoded word or an unknown charset
        return text


def message_details(msg: Message, index: int | None) -> Details:
    """Subject, sender, date and id of a mail message (and its position in a mailbox)."""
    out = [(key, header_text(msg.get(name) or "")) for key, name in DETAIL_HEADERS]
    if index is not None:
        out.append(("mbox_index", str(index)))
    return tuple((k, v) for k, v in out if v)


def _parts(origin: Origin, msg: Message, details: Details, name: str | None) -> Iterator[Item]:
    headers = "\n".join(f"{k}: {header_text(v)}" for k, v in msg.items())
    yield text_blob(origin, "notes", headers, (*details, ("part", "headers")), name)
    for number, part in enumerate(msg.walk(), 1):
        if part.is_multipart():
            continue
        filename = part.get_filename()
        filename = header_text(filename) if filename else filename
        try:
            payload = part.get_payload(decode=True)
        except (ValueError, LookupError):
            payload = None
        if not isinstance(payload, bytes) or not payload:
            continue
        label = f"attachment {filename}" if filename else f"body {part.get_content_type()}"
        if part.get_content_maintype() == "text" and not filename:
            charset = part.get_content_charset() or "utf-8"
            try:
                text = payload.decode(charset, "replace")
            except LookupError:
                text = payload.decode("utf-8", "replace")
            yield text_blob(origin, "notes", text, (*details, ("part", label)), name)
        else:
            inner = f"{name}!/{filename or f'part{number}'}" if name else filename or f"part{number}"
            yield Member(Blob(payload, child(origin, "notes", inner, (*details, ("part", label)))))


def _parse(data: bytes) -> Message:
    # compat32 keeps header values as strings; policy.default runs every header it is asked for through the
    # header registry's parser, which cost two thirds of the 55 MB text tree's mail expansion (header_text
    # gives the reader's view of a value for the few headers that need it).
    return email.message_from_bytes(data, policy=email.policy.compat32)


def expand_email(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """An .eml message: headers, decoded text bodies and attachments (attachments expanded further)."""
    msg = _parse(blob.data)
    yield from _parts(blob.origin, msg, message_details(msg, None), None)


def expand_mbox(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """An mbox mailbox: each message as in expand_email, numbered."""
    starts = [m.start() for m in MBOX_FROM.finditer(blob.data)] or [0]
    for index, start in enumerate(starts, 1):
        if (skip := take_entry(ctx, f"{blob.origin.path}#{index}")) is not None:
            yield skip
            return
        end = starts[index] if index < len(starts) else len(blob.data)
        raw = blob.data[start:end]
        body = raw.split(b"\n", 1)[1] if raw.startswith(b"From ") and b"\n" in raw else raw
        msg = _parse(body)
        yield from _parts(blob.origin, msg, message_details(msg, index), None)
