"""Checksums embedded in token formats (GitHub and npm use CRC32 in base62)."""

from __future__ import annotations

import zlib
from typing import Any

from tokenward.checks.interface import Check, CheckFactory

BASE62 = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62(number: int, width: int = 6) -> bytes:
    """Encode a non-negative integer in base62, left-padded with '0' to width."""
    out = bytearray()
    while number:
        number, rem = divmod(number, 62)
        out.append(BASE62[rem])
    return bytes(reversed(out)).rjust(width, b"0")


def crc32_base62_ok(body: bytes) -> bool:
    """True when the last 6 chars of body are the base62 CRC32 of the chars before them."""
    if len(body) <= 6:
        return False
    payload, check = body[:-6], body[-6:]
    return base62(zlib.crc32(payload)) == check


def _after_prefix(secret: bytes) -> bytes:
    # GitHub and npm compute the CRC over the random part only, not over "ghp_" / "npm_".
    return secret.split(b"_")[-1]


def _github(_arg: Any) -> Check:
    return lambda secret, _ctx: crc32_base62_ok(_after_prefix(secret))


CHECKS: dict[str, CheckFactory] = {
    "github_checksum": _github,
    "npm_checksum": _github,
}
