"""Documents: Office Open XML and OpenDocument (their XML parts), PDF text per page, SQLite text cells."""

from __future__ import annotations

import html
import re
import sqlite3
import zipfile
from collections.abc import Iterator
from typing import Any

from tokenward.expand import pdftext
from tokenward.expand.base import Ctx, Item, Member, charge, child, error, read_zip_member, take_entry, text_blob
from tokenward.sources.interface import Blob, Origin

BREAKS = re.compile(rb"</(?:w:p|a:p|text:p|text:h|row|si|w:tr)>|<(?:w:br|w:cr|text:line-break|a:br)\b[^>]*>")
CELL_GAPS = re.compile(rb"</(?:w:tc|c|table:table-cell)>|<(?:w:tab|text:tab)\b[^>]*>")
TAGS = re.compile(rb"<[^>]*>")
LONG_ATTRIBUTE = re.compile(rb"""\s[\w:.-]+=["']([^"'<>]{16,})["']""")
SHEET_NAMES = re.compile(rb'<sheet\b[^>]*\bname="([^"]*)"')
SHARED = re.compile(rb"<si>(.*?)</si>", re.S)
ROW = re.compile(rb'<row\b[^>]*?\br="(\d+)"[^>]*>(.*?)</row>', re.S)
CELL = re.compile(rb'<c\b([^>]*)>(.*?)</c>', re.S)
VALUE = re.compile(rb"<(?:v|t)\b[^>]*>(.*?)</(?:v|t)>", re.S)
SUFFIX_KIND = {"word/": "docx", "xl/": "xlsx", "ppt/": "pptx"}
MAX_PAGES = 10_000


def xml_text(xml: bytes) -> str:
    """Readable text of an XML part: paragraphs as lines, cells tab-separated, long attribute values appended."""
    body = CELL_GAPS.sub(b"\t", BREAKS.sub(b"\n", xml))
    text = html.unescape(TAGS.sub(b"", body).decode("utf-8", "replace"))
    extra = [html.unescape(v.decode("utf-8", "replace")) for v in LONG_ATTRIBUTE.findall(xml)]
    lines = [line for line in text.split("\n")]
    return "\n".join(lines + [v for v in extra if "schemas." not in v and "/xmlns" not in v])


def is_office_zip(names: list[str]) -> bool:
    """True for docx/xlsx/pptx (Office Open XML) and odt/ods/odp (OpenDocument) files."""
    return "[Content_Types].xml" in names or ("mimetype" in names and "content.xml" in names)


def _doc_type(names: list[str], origin: Origin) -> str:
    for prefix, kind in SUFFIX_KIND.items():
        if any(n.startswith(prefix) for n in names):
            return kind
    return origin.path.rsplit(".", 1)[-1].lower() if "." in origin.path else "opendocument"


def expand_office_zip(blob: Blob, zf: zipfile.ZipFile, ctx: Ctx) -> Iterator[Item]:
    """Each XML part of an office document as text (spreadsheets row by row); embedded files expanded too."""
    names = zf.namelist()
    doc = _doc_type(names, blob.origin)
    parts: dict[str, bytes] = {}
    for info in zf.infolist():
        if ctx.budget.stopped or info.is_dir():
            continue
        data, problem = read_zip_member(zf, info, f"{blob.origin.path}!/{info.filename}", ctx)
        if problem:
            yield problem
        if data is None:
            continue
        if not info.filename.endswith((".xml", ".rels")):
            yield Member(Blob(data, child(blob.origin, "document", info.filename)))
        elif doc == "xlsx":
            parts[info.filename] = data
        else:
            yield text_blob(blob.origin, "document", xml_text(data), (("document", doc), ("part", info.filename)))
    if parts:
        yield from _xlsx(blob.origin, parts)


def _xlsx(origin: Origin, parts: dict[str, bytes]) -> Iterator[Item]:
    shared = [xml_text(s) for s in SHARED.findall(parts.get("xl/sharedStrings.xml", b""))]
    workbook = parts.get("xl/workbook.xml", b"")
    sheet_names = [html.unescape(n.decode("utf-8", "replace")) for n in SHEET_NAMES.findall(workbook)]
    for name, data in parts.items():
        m = re.match(r"xl/worksheets/sheet(\d+)\.xml$", name)
        if m is None:
            if name != "xl/sharedStrings.xml":
                yield text_blob(origin, "document", xml_text(data), (("document", "xlsx"), ("part", name)))
            continue
        index = int(m.group(1)) - 1
        sheet = sheet_names[index] if index < len(sheet_names) else f"sheet{index + 1}"
        details = (("document", "xlsx"), ("part", name), ("sheet", sheet), ("lines", "line n = row n"))
        yield text_blob(origin, "document", _sheet_rows(data, shared), details)


def _cell_value(attrs: bytes, body: bytes, shared: list[str]) -> str:
    values = [html.unescape(v.decode("utf-8", "replace")) for v in VALUE.findall(body)]
    if b't="s"' in attrs and values and values[0].isdigit():
        index = int(values[0])
        return shared[index] if index < len(shared) else ""
    return "".join(values)


def _sheet_rows(xml: bytes, shared: list[str]) -> str:
    """A worksheet as text: row r on line r (cells tab-separated), so a finding's line is its row."""
    lines: list[str] = []
    for m in ROW.finditer(xml):
        row = int(m.group(1))
        cells = [_cell_value(c.group(1), c.group(2), shared) for c in CELL.finditer(m.group(2))]
        if row > len(lines) + 1 and row - len(lines) < 100_000:
            lines.extend([""] * (row - len(lines) - 1))
        lines.append("\t".join(cells))
    return "\n".join(lines)


def expand_pdf(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """A PDF: its text page by page (page number in details) and its metadata, read by PDFium in a child
    process (expand/pdftext.py)."""
    lim, budget = ctx.limits, ctx.budget
    got = pdftext.extract(blob.data, MAX_PAGES, max(0, lim.max_total_bytes - budget.inflated) + 1)
    if isinstance(got, str):
        yield error(blob.origin.path, got)
        return
    if got.metadata:
        yield text_blob(blob.origin, "document", got.metadata, (("document", "pdf"), ("part", "metadata")))
    for number, text in enumerate(got.pages, 1):
        if text.strip():
            if (skip := charge(ctx, len(text), blob.origin.path)) is not None:
                yield skip
                return
            yield text_blob(blob.origin, "document", text, (("document", "pdf"), ("page", str(number))))
    if got.failed:
        yield error(blob.origin.path, f"corrupt PDF: {got.failed} of {got.count} pages unreadable")


def _without_wal(data: bytes) -> bytes:
    # A WAL-mode database (header bytes 18-19 = 2) cannot be opened from memory; marking it as a
    # rollback-journal database (1, 1) reads the same pages (what the WAL file holds is not here).
    if len(data) >= 100 and data[18:20] == b"\x02\x02":
        return data[:18] + b"\x01\x01" + data[20:]
    return data


def expand_sqlite(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """A SQLite database file: each table's text cells, one row per line (row order in details)."""
    db = sqlite3.connect(":memory:")
    try:
        db.deserialize(_without_wal(blob.data))
        db.execute("PRAGMA query_only = ON")
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            yield from _table(blob, db, table, ctx)
    except sqlite3.Error as exc:
        yield error(blob.origin.path, f"corrupt SQLite database: {exc}")
    finally:
        db.close()


def _cell_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes) and value.isascii():
        return value.decode("ascii")
    return ""


def _table(blob: Blob, db: sqlite3.Connection, table: str, ctx: Ctx) -> Iterator[Item]:
    lines: list[str] = []
    size = 0
    quoted = '"' + table.replace('"', '""') + '"'
    for row in db.execute(f"SELECT * FROM {quoted}"):
        if (skip := take_entry(ctx, f"{blob.origin.path}!/{table}")) is not None:
            yield skip
            break
        line = "\t".join(_cell_text(v) for v in row).replace("\n", " ")
        lines.append(line)
        size += len(line)
    if size and (skip := charge(ctx, size, blob.origin.path)) is not None:
        yield skip
    elif size:
        details = (("document", "sqlite"), ("table", table), ("lines", "line n = row n"))
        yield text_blob(blob.origin, "document", "\n".join(lines), details)

