"""Format checks specific to the comms rule family."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from tokenward.checks.interface import Check, CheckFactory
from tokenward.errors import CheckError


def b64_decode_loose(data: bytes) -> bytes | None:
    """Decode standard or URL-safe base64 with or without padding; None when it is not base64."""
    padded = data.rstrip(b"=") + b"=" * (-len(data.rstrip(b"=")) % 4)
    alphabet = b"-_" if (b"-" in data or b"_" in data) else b"+/"
    try:
        return base64.b64decode(padded, altchars=alphabet, validate=True)
    except (binascii.Error, ValueError):
        return None


def _prefix_list(name: str, arg: Any) -> tuple[bytes, ...]:
    values = [arg] if isinstance(arg, str) else arg
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise CheckError(f"{name} needs a non-empty string or list of strings, got {arg!r}")
    return tuple(v.encode() for v in values)


def _case_prefix(arg: Any) -> Check:
    """Keep secrets that start with one of the given prefixes, compared case-sensitively."""
    prefixes = _prefix_list("case_prefix", arg)
    return lambda secret, _ctx: secret.startswith(prefixes)


def _base64_prefix(arg: Any) -> Check:
    """Keep secrets that decode from base64 to printable ASCII starting with one of the given prefixes."""
    prefixes = _prefix_list("base64_prefix", arg)

    def check(secret: bytes, _ctx: bytes) -> bool:
        raw = b64_decode_loose(secret)
        return raw is not None and raw.startswith(prefixes) and all(32 <= b < 127 for b in raw)
    return check


def discord_user_id_ok(token: bytes) -> bool:
    """True when the first segment of a Discord bot token is base64 of a 17-20 digit snowflake."""
    raw = b64_decode_loose(token.split(b".", 1)[0])
    return raw is not None and raw.isdigit() and 17 <= len(raw) <= 20 and not raw.startswith(b"0")


def _discord_user_id(_arg: Any) -> Check:
    """Keep Discord bot tokens whose first segment encodes a numeric user id."""
    return lambda secret, _ctx: discord_user_id_ok(secret)


CHECKS: dict[str, CheckFactory] = {
    "case_prefix": _case_prefix,
    "base64_prefix": _base64_prefix,
    "discord_user_id": _discord_user_id,
}
