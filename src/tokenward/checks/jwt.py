"""JSON Web Token structure: decode header and payload, never verify the signature."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from tokenward.checks.interface import Check, CheckFactory
from tokenward.errors import CheckError


def b64url_json(part: bytes) -> dict[str, Any] | None:
    """Decode one base64url JSON segment of a JWT; None when it is not a JSON object."""
    try:
        raw = base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return value if isinstance(value, dict) else None


def b64_json_object(data: bytes) -> dict[str, Any] | None:
    """Decode standard or URL-safe base64 (padding optional) holding a JSON object; None otherwise."""
    text = data.rstrip(b"=").replace(b"-", b"+").replace(b"_", b"/")
    try:
        value = json.loads(base64.b64decode(text + b"=" * (-len(text) % 4), validate=True))
    except (binascii.Error, ValueError):
        return None
    return value if isinstance(value, dict) else None


def decode_jwt(token: bytes) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(header, payload) of a JWS compact token when both decode and the header has 'alg'."""
    parts = token.split(b".")
    if len(parts) != 3:
        return None
    header, payload = b64url_json(parts[0]), b64url_json(parts[1])
    if header is None or payload is None or "alg" not in header:
        return None
    return header, payload


def _jwt(_arg: Any) -> Check:
    return lambda secret, _ctx: decode_jwt(secret) is not None


def _base64(_arg: Any) -> Check:
    def check(secret: bytes, _ctx: bytes) -> bool:
        try:
            base64.b64decode(secret + b"=" * (-len(secret) % 4), validate=True)
        except binascii.Error:
            return False
        return True
    return check


def _jwt_claims(arg: Any) -> Check:
    """Keep JWTs whose payload has every given claim with the given value (a list: any of them)."""
    if not isinstance(arg, dict) or not arg:
        raise CheckError(f"jwt_claims takes a mapping of claim to value(s), got {arg!r}")
    wanted = {str(k): tuple(v) if isinstance(v, list) else (v,) for k, v in arg.items()}

    def check(secret: bytes, _ctx: bytes) -> bool:
        decoded = decode_jwt(secret)
        return decoded is not None and all(decoded[1].get(k) in vs for k, vs in wanted.items())
    return check


CHECKS: dict[str, CheckFactory] = {"jwt": _jwt, "base64": _base64, "jwt_claims": _jwt_claims}
