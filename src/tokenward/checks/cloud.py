"""Format checks specific to the cloud rule family."""

from __future__ import annotations

import re
from typing import Any

from tokenward.checks.interface import Check, CheckFactory
from tokenward.checks.jwt import b64_json_object
from tokenward.errors import CheckError

UUID4 = re.compile(rb"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE)


def is_uuid4(value: bytes) -> bool:
    """True for a canonical random (version 4, RFC 4122 variant) UUID that is not a filler."""
    if UUID4.match(value) is None:
        return False
    hexdigits = value.replace(b"-", b"").lower()
    return len(set(hexdigits)) > 6


def _uuid4(_arg: Any) -> Check:
    return lambda secret, _ctx: is_uuid4(secret)


def _context_excludes(arg: Any) -> Check:
    if not isinstance(arg, list) or not arg or not all(isinstance(a, str) and a for a in arg):
        raise CheckError(f"context_excludes needs a non-empty list of strings, got {arg!r}")
    needles = tuple(a.lower().encode() for a in arg)
    return lambda _secret, ctx: not any(n in ctx.lower() for n in needles)


def _b64_json_after(arg: Any) -> Check:
    if not isinstance(arg, str) or not arg:
        raise CheckError(f"b64_json_after needs the prefix to strip, got {arg!r}")
    prefix = arg.encode()

    def check(secret: bytes, _ctx: bytes) -> bool:
        return secret.startswith(prefix) and b64_json_object(secret[len(prefix):]) is not None

    return check


CHECKS: dict[str, CheckFactory] = {
    "uuid4": _uuid4,
    "context_excludes": _context_excludes,
    "b64_json_after": _b64_json_after,
}
