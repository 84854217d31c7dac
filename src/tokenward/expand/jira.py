"""Jira exports: REST search results (JSON), RSS/XML issue views and XML backups, and CSV exports.

One blob per issue field and per comment, labelled with issue key, field or comment id, author and time.
"""

from __future__ import annotations

import csv
import html
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

from tokenward.expand.base import Ctx, Details, Item, child, error
from tokenward.expand.gate import Text, gated, make_text
from tokenward.expand.textutil import UnsafeXML, el_text, json_strings, parse_xml
from tokenward.sources.interface import Blob, Origin

MIN_TEXT = 8
SKIP_FIELDS = frozenset({"issuetype", "project", "status", "priority", "watches", "votes", "statusCategory",
                         "resolution", "progress", "aggregateprogress", "worklog", "comment", "issuelinks"})


def _person(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("displayName") or value.get("name") or value.get("emailAddress") or "")
    return str(value or "")


def _blob(origin: Origin, text: str, key: str, field: str, author: str, time: str, extra: str = "") -> Text | None:
    """A field or comment as a text for the gate (None when too short to hold a token)."""
    if len(text) < MIN_TEXT:
        return None
    details = [("issue", key), ("field", field)]
    details += [("comment_id", extra)] if extra else []
    details += [("author", author)] if author else []
    details += [("time", time)] if time else []
    return make_text(text), partial(_make, origin, tuple(details))


def _make(origin: Origin, details: Details, data: bytes) -> Item:
    return Blob(data, child(origin, "jira", None, details))


def _present(texts: Iterable[Text | None]) -> Iterator[Text]:
    return (t for t in texts if t is not None)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _entries(container: Any, key: str) -> list[dict[str, Any]]:
    return [e for e in _dict(container).get(key) or [] if isinstance(e, dict)]


def _issue_json(origin: Origin, issue: dict[str, Any], names: dict[str, str]) -> Iterator[Text | None]:
    key = str(issue.get("key") or issue.get("id") or "?")
    fields = _dict(issue.get("fields"))
    reporter, updated = _person(fields.get("reporter") or fields.get("creator")), str(fields.get("updated") or "")
    for name, value in fields.items():
        if name not in SKIP_FIELDS and value:
            text = "\n".join(json_strings(value, []))
            yield _blob(origin, text, key, str(names.get(name, name)), reporter, updated)
    for c in _entries(fields.get("comment"), "comments") + _entries(fields.get("worklog"), "worklogs"):
        text = "\n".join(json_strings(c.get("body") or c.get("comment"), []))
        author, created = _person(c.get("author")), str(c.get("created") or "")
        yield _blob(origin, text, key, "comment", author, created, str(c.get("id", "")))
    for h in _entries(issue.get("changelog"), "histories"):
        author, created = _person(h.get("author")), str(h.get("created") or "")
        for item in _entries(h, "items"):
            text = "\n".join(json_strings([item.get("fromString"), item.get("toString")], []))
            yield _blob(origin, text, key, f"changelog {item.get('field', '')}", author, created)


def expand_jira_json(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """REST search results ({"issues": [...]}), a list of issues, or one issue."""
    try:
        doc = json.loads(blob.data)
    except ValueError as exc:
        yield error(blob.origin.path, f"malformed Jira JSON: {exc}")
        yield blob
        return
    issues = doc.get("issues") if isinstance(doc, dict) and "issues" in doc else doc if isinstance(doc, list) else [doc]
    names = _dict(_dict(doc).get("names"))
    for issue in issues or []:
        if isinstance(issue, dict):
            yield from gated(_present(_issue_json(blob.origin, issue, names)), ctx)


def _rss_item(origin: Origin, item: ET.Element) -> Iterator[Text | None]:
    key = (item.findtext("key") or "?").strip()
    author, updated = item.findtext("reporter") or "", item.findtext("updated") or ""
    for tag in ("summary", "title", "description", "environment", "link"):
        yield _blob(origin, html.unescape(el_text(item.find(tag))), key, tag, author, updated)
    for c in item.iterfind("comments/comment"):
        text = html.unescape(el_text(c))
        yield _blob(origin, text, key, "comment", c.get("author", ""), c.get("created", ""), c.get("id", ""))
    for f in item.iterfind("customfields/customfield"):
        name = f.findtext("customfieldname") or f.get("id") or "customfield"
        values = "\n".join(html.unescape(el_text(v)) for v in f.iterfind("customfieldvalues/customfieldvalue"))
        yield _blob(origin, values, key, name, author, updated)


def _backup(origin: Origin, root: ET.Element) -> Iterator[Text | None]:
    projects = {p.get("id"): p.get("key") for p in root.iter("Project")}
    keys: dict[str | None, str] = {}
    for issue in root.iter("Issue"):
        key = issue.get("key") or f"{projects.get(issue.get('project')) or '?'}-{issue.get('number', '?')}"
        keys[issue.get("id")] = key
        for attr in ("summary", "description", "environment"):
            text = issue.get(attr) or issue.findtext(attr) or ""
            yield _blob(origin, text, key, attr, issue.get("reporter", ""), issue.get("updated", ""))
    for action in root.iter("Action"):
        text = action.get("body") or action.findtext("body") or ""
        yield _blob(origin, text, keys.get(action.get("issue"), str(action.get("issue"))), "comment",
                    action.get("author", ""), action.get("created", ""), action.get("id", ""))
    for value in root.iter("CustomFieldValue"):
        text = value.get("stringvalue") or value.get("textvalue") or value.findtext("textvalue") or ""
        yield _blob(origin, text, keys.get(value.get("issue"), str(value.get("issue"))),
                    value.get("customfield", "customfield"), "", "")


def expand_jira_xml(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """An RSS issue view/search export (<rss><channel><item>) or a backup's entities.xml."""
    try:
        root = parse_xml(blob.data)
    except (ET.ParseError, UnsafeXML) as exc:
        yield error(blob.origin.path, f"malformed Jira XML: {exc}")
        yield blob
        return
    found = _backup(blob.origin, root) if root.tag == "entity-engine-xml" else (
        b for item in root.iter("item") for b in _rss_item(blob.origin, item))
    yield from gated(_present(found), ctx)


def _csv_cell(row: list[str], col: dict[str, int], name: str) -> str:
    return row[col[name]] if name in col and col[name] < len(row) else ""


def expand_jira_csv(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """A Jira CSV export: one blob per non-empty cell; comments split into date;author;body."""
    yield from gated(_present(_csv_texts(blob)), ctx)


def _csv_texts(blob: Blob) -> Iterator[Text | None]:
    rows = csv.reader(io.StringIO(blob.data.decode("utf-8-sig", "replace")))
    header = next(rows, [])
    col = {name: i for i, name in reversed(list(enumerate(header)))}
    for number, row in enumerate(rows, 2):
        key = _csv_cell(row, col, "Issue key") or f"row {number}"
        author = _csv_cell(row, col, "Reporter")
        time = _csv_cell(row, col, "Updated") or _csv_cell(row, col, "Created")
        for i, cell in enumerate(row):
            name = header[i] if i < len(header) else f"column {i + 1}"
            if name == "Comment" and cell.count(";") >= 2:
                when, who, body = cell.split(";", 2)
                yield _blob(blob.origin, body, key, "comment", who, when, f"column {i + 1}")
            else:
                yield _blob(blob.origin, cell, key, name, author, time)
