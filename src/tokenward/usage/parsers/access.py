"""Token handling shared by access-log parsers: fingerprint raw tokens, find tokens in URLs, routes."""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import parse_qsl

from tokenward.identity import Fingerprinter, preview
from tokenward.usage.events import ParseContext, StorageViolation

TOKEN_PARAMS = frozenset({"access_token", "token", "api_key", "apikey", "api-key", "key", "private_token",
                          "auth", "auth_token", "client_secret", "password", "secret", "sig", "x-api-key"})
SCHEMES = ("bearer ", "token ", "apikey ", "api-key ", "key ")
_ID_SEGMENT = re.compile(r"^(?:\d+|[0-9a-fA-F]{12,}|[0-9a-fA-F-]{32,36}|[A-Za-z0-9_-]{24,})$")
MAX_SEGMENTS = 8


def route(path: str) -> str:
    """The path without its query, ids replaced by ':id' (so endpoints stay few per token)."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    parts = path.split("/")[: MAX_SEGMENTS + 1]
    return "/".join(":id" if _ID_SEGMENT.match(p) else p for p in parts) or "/"


def header_secret(value: str) -> str | None:
    """The token in an Authorization (or API key) header value; None for '-' or empty."""
    text = value.strip()
    if not text or text == "-":
        return None
    lower = text.lower()
    for scheme in SCHEMES:
        if lower.startswith(scheme):
            return text[len(scheme):].strip() or None
    if lower.startswith("basic "):
        try:
            user, _, password = base64.b64decode(text[6:].strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        return password or user or None
    return text


class TokenReader:
    """Fingerprints plaintext tokens in access logs and drops them; reports tokens carried in URLs."""

    def __init__(self, fingerprinter: Fingerprinter | None) -> None:
        self.fp = fingerprinter

    def identify(self, secret: str) -> tuple[str, str] | None:
        """(token_id, preview) of a plaintext token; None without a key."""
        if self.fp is None or len(secret) < 8:
            return None
        raw = secret.encode()
        return self.fp.token_id(raw), preview(raw)

    def from_url(self, target: str, line: int, ctx: ParseContext) -> tuple[str, str] | None:
        """The token in target's query string (reported as a storage violation), if any."""
        if "?" not in target:
            return None
        found = None
        for name, value in parse_qsl(target.split("?", 1)[1], keep_blank_values=False):
            if name.lower() in TOKEN_PARAMS and len(value) >= 8 and (ident := self.identify(value)):
                found = found or ident
                ctx.violation(StorageViolation(
                    ident[0], ident[1], "token-in-url", f"{ctx.source}:{line}",
                    f"token passed in the URL query parameter {name!r}: every proxy and access log stores it"))
        return found
