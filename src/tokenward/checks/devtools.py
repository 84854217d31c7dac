"""Format checks specific to the devtools rule family."""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from typing import Any

from tokenward.checks.interface import Check, CheckFactory
from tokenward.checks.jwt import b64_json_object, decode_jwt
from tokenward.errors import CheckError

ROUTABLE = re.compile(rb"^(?P<head>[^.]+)\.(?P<ver>[0-9a-z]{2})\.(?P<len>[0-9a-z]{2})(?P<crc>[0-9a-z]{7})$")
BASE36 = b"0123456789abcdefghijklmnopqrstuvwxyz"
BECH32 = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
EYJ_SEGMENT = re.compile(rb"eyJ[A-Za-z0-9+/=-]*")


def base36(number: int, width: int) -> bytes:
    """Lowercase base36 of a non-negative integer, left-padded with '0' to width."""
    out = bytearray()
    while number:
        number, rem = divmod(number, 36)
        out.append(BASE36[rem])
    return bytes(reversed(out)).rjust(width, b"0")


def gitlab_routable_ok(secret: bytes) -> bool:
    """True for a legacy GitLab token, or a routable one whose CRC32 and length field verify."""
    m = ROUTABLE.match(secret)
    if m is None:
        return b"." not in secret
    if base36(zlib.crc32(secret[:-7]), 7) != m["crc"]:
        return False
    length = int(m["len"], 36)
    if not 27 <= length < len(m["head"]) or length % 4 == 1:
        return False
    payload = m["head"][-length:].replace(b"-", b"+").replace(b"_", b"/")
    try:
        raw = base64.b64decode(payload + b"=" * (-length % 4), validate=True)
    except binascii.Error:
        return False
    # 16 random bytes, the routing payload, then one byte holding the routing payload's length.
    return len(raw) >= 18 and raw[-1] == len(raw) - 17


def grafana_sa_ok(secret: bytes) -> bool:
    """True when a glsa_ token ends with the little-endian hex CRC32 of everything before '_<crc>'."""
    body, sep, checksum = secret.rpartition(b"_")
    if not sep or len(checksum) != 8:
        return False
    return zlib.crc32(body).to_bytes(4, "little").hex().encode() == checksum


def embedded_json_keys(secret: bytes, keys: tuple[str, ...]) -> bool:
    """True when the first 'eyJ…' base64 segment (ended by '.' or '_') is JSON holding every key."""
    m = EYJ_SEGMENT.search(secret)
    if m is None:
        return False
    obj = b64_json_object(m.group(0))
    return obj is not None and all(k in obj for k in keys)


def bech32_ok(value: bytes, hrp: bytes) -> bool:
    """True when value (any single case) is a bech32 string with this human-readable part."""
    low = value.lower()
    if low != value and value.upper() != value:
        return False
    if not low.startswith(hrp + b"1") or len(low) < len(hrp) + 8:
        return False
    data = low[len(hrp) + 1:]
    if any(c not in BECH32 for c in data):
        return False
    values = [c >> 5 for c in hrp] + [0] + [c & 31 for c in hrp] + [BECH32.index(c) for c in data]
    chk = 1
    for v in values:
        top, chk = chk >> 25, (chk & 0x1FFFFFF) << 5 ^ v
        for i, gen in enumerate(BECH32_GEN):
            chk ^= gen if (top >> i) & 1 else 0
    return chk == 1


def b64_colon_pair(secret: bytes) -> bool:
    """True when secret is base64 of printable 'id:key' with both halves at least 8 chars long."""
    try:
        raw = base64.b64decode(secret + b"=" * (-len(secret) % 4), validate=True)
    except binascii.Error:
        return False
    left, sep, right = raw.partition(b":")
    printable = all(33 <= c <= 126 for c in left + right)
    return bool(sep) and printable and len(left) >= 8 and len(right) >= 8 and b":" not in right


def _gitlab_routable(_arg: Any) -> Check:
    return lambda secret, _ctx: gitlab_routable_ok(secret)


def _grafana_sa(_arg: Any) -> Check:
    return lambda secret, _ctx: grafana_sa_ok(secret)


def _json_keys(arg: Any) -> Check:
    if not isinstance(arg, list) or not arg or not all(isinstance(k, str) for k in arg):
        raise CheckError(f"b64_json_keys needs a non-empty list of key names, got {arg!r}")
    keys = tuple(arg)
    return lambda secret, _ctx: embedded_json_keys(secret, keys)


def _jwt_after_prefix(_arg: Any) -> Check:
    def check(secret: bytes, _ctx: bytes) -> bool:
        start = secret.find(b"eyJ")
        return start >= 0 and decode_jwt(secret[start:]) is not None
    return check


def _colon_pair(_arg: Any) -> Check:
    return lambda secret, _ctx: b64_colon_pair(secret)


def _bech32(arg: Any) -> Check:
    if not isinstance(arg, str) or not arg:
        raise CheckError(f"bech32 needs the human-readable part as a string, got {arg!r}")
    hrp = arg.lower().encode()
    return lambda secret, _ctx: bech32_ok(secret, hrp)


CHECKS: dict[str, CheckFactory] = {
    "gitlab_routable": _gitlab_routable,
    "grafana_sa_checksum": _grafana_sa,
    "b64_json_keys": _json_keys,
    "jwt_after_prefix": _jwt_after_prefix,
    "bech32": _bech32,
    "b64_colon_pair": _colon_pair,
}
