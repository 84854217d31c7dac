"""Confluence: space exports as HTML pages or XML (entities.xml), and storage-format page bodies."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from functools import partial

from tokenward.expand.base import Ctx, Item, error, text_blob
from tokenward.expand.textutil import UnsafeXML, parse_xml
from tokenward.sources.interface import Blob

TITLE = re.compile(rb"<title>\s*(.*?)\s*</title>", re.S | re.I)
CRUMB = re.compile(rb'<ol id="breadcrumbs">.*?<a [^>]*>(.*?)</a>', re.S)
MODIFIED = re.compile(rb"last (?:modified|updated)(?: by [^<,]*)? on ([^<]+)", re.I)


def _s(raw: bytes | None) -> str:
    return html.unescape(raw.decode("utf-8", "replace")).strip() if raw else ""


def expand_html(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """One exported page: space and title from <title> "Space : Page" and the breadcrumbs; entities decoded."""
    head = blob.data[:1 << 16]
    title = _s(m.group(1)) if (m := TITLE.search(head)) else ""
    space, _, page = title.partition(" : ")
    crumb = _s(c.group(1)) if (c := CRUMB.search(head)) else ""
    details = [("space", crumb or space), ("page", page or title)]
    if (mod := MODIFIED.search(blob.data)) is not None:
        details.append(("modified", _s(mod.group(1))))
    text = html.unescape(blob.data.decode("utf-8", "replace"))
    yield text_blob(blob.origin, "confluence", text, tuple((k, v) for k, v in details if v))


def expand_storage(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """A page body in storage format (XHTML with ac:/ri: macros): entities decoded."""
    text = html.unescape(blob.data.decode("utf-8", "replace"))
    yield text_blob(blob.origin, "confluence", text, (("format", "storage"),))


def _property(obj: ET.Element, name: str) -> ET.Element | None:
    return next((p for p in obj.iterfind("property") if p.get("name") == name), None)


def _text_of(obj: ET.Element, name: str) -> str:
    prop = _property(obj, name)
    return (prop.text or "") if prop is not None else ""


def _ref_id(obj: ET.Element, name: str) -> str:
    prop = _property(obj, name)
    return (prop.findtext("id") or "") if prop is not None else ""


def expand_xml(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """entities.xml of an XML space export: each page/blog/comment body with space, title and version."""
    try:
        root = parse_xml(blob.data)
    except (ET.ParseError, UnsafeXML) as exc:
        yield error(blob.origin.path, f"malformed Confluence XML: {exc}")
        yield blob
        return
    spaces: dict[str, str] = {}
    contents: dict[str, tuple[str, str, str, str]] = {}  # id → (kind, title, version, space id)
    bodies: list[tuple[str, str]] = []  # (content id, body)
    for obj in root.iter("object"):
        cls, oid = obj.get("class", ""), obj.findtext("id") or ""
        prop = partial(_text_of, obj)
        if cls == "Space":
            spaces[oid] = prop("key") or prop("name")
        elif cls in ("Page", "BlogPost", "Comment", "Attachment"):
            contents[oid] = (cls, prop("title"), prop("version"), _ref_id(obj, "space"))
        elif cls == "BodyContent":
            bodies.append((_ref_id(obj, "content"), prop("body")))
    for content_id, body in bodies:
        kind, title, version, space = contents.get(content_id, ("content", "", "", ""))
        details = (("space", spaces.get(space, space)), ("page", title), ("version", version),
                   ("content", f"{kind} {content_id}"))
        yield text_blob(blob.origin, "confluence", html.unescape(body), tuple((k, v) for k, v in details if v))
