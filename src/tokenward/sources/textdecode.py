"""Bytes sniffing: binary detection and UTF-16 → UTF-8 so rules see text."""

from __future__ import annotations

import codecs

SNIFF = 8192
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _utf16_without_bom(head: bytes) -> str | None:
    # ASCII text in UTF-16 has a NUL in every other byte; which half tells the byte order.
    if len(head) < 16 or b"\x00" not in head:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def utf16_codec(data: bytes) -> str | None:
    """The UTF-16 codec data is in (BOM or NUL-pattern), or None."""
    if data.startswith(UTF16_BOMS):
        return "utf-16"
    return _utf16_without_bom(data[:SNIFF])


def is_binary(head: bytes) -> bool:
    """True when a file's first bytes say binary: a NUL byte that is not UTF-16 text."""
    return b"\x00" in head and utf16_codec(head) is None


def as_is(head: bytes) -> bool:
    """True when to_scannable returns the data unchanged, told from its first SNIFF bytes alone: no NUL and no
    UTF-16 byte order mark (most files are such text: nothing more is asked of them)."""
    return b"\x00" not in head and not head.startswith(UTF16_BOMS)


def to_scannable(data: bytes) -> bytes | None:
    """Bytes ready for the matcher: UTF-16 recoded to UTF-8, other text as is; None for binary."""
    codec = utf16_codec(data)
    if codec:
        return data.decode(codec, "replace").encode("utf-8")
    if b"\x00" in data[:SNIFF]:
        return None
    return data
