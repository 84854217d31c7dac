"""Small text helpers shared by the export expanders: JSON string collection and safe XML parsing."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

SKIP_KEYS = frozenset({"self", "iconUrl", "avatarUrls", "accountId", "accountType", "timeZone", "id", "key",
                       "@odata.type", "@odata.context", "etag", "contentType", "mediaType", "localId"})


def json_strings(value: Any, out: list[str], skip: frozenset[str] = SKIP_KEYS, key: str = "") -> list[str]:
    """Every distinct string in a JSON value (ADF documents, nested fields), skipping metadata keys."""
    if isinstance(value, str):
        if value and key not in skip and value not in out:
            out.append(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in skip:
                json_strings(v, out, skip, k)
    elif isinstance(value, list):
        for v in value:
            json_strings(v, out, skip, key)
    return out


class UnsafeXML(ValueError):
    """XML that declares entities (billion-laughs / external entity risk) is not parsed."""


def parse_xml(data: bytes) -> ET.Element:
    """Parse XML that has no DOCTYPE entity declarations (UnsafeXML or ET.ParseError otherwise)."""
    if b"<!ENTITY" in data[:1 << 16] or b"<!ENTITY" in data:
        raise UnsafeXML("XML declares entities; not parsed")
    return ET.fromstring(data)


def el_text(element: ET.Element | None) -> str:
    """All text inside an element (its descendants' text joined)."""
    return "".join(element.itertext()) if element is not None else ""
