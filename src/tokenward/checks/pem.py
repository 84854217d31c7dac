"""Structure of key containers and JOSE objects: PEM, OpenSSH, PuTTY, OpenPGP armor, JWK, JWE."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from tokenward.checks.entropy import shannon
from tokenward.checks.interface import Check, CheckFactory
from tokenward.checks.jwt import b64url_json, decode_jwt
from tokenward.errors import CheckError

BODY = re.compile(rb"(?s)-----BEGIN [^\r\n]{3,60}?-----(.*?)(?:-----END|\Z)")
HEADER_LINE = re.compile(rb"^[ \t]*[A-Za-z][A-Za-z0-9-]{1,30}:.*$", re.MULTILINE)
FILLER_WORDS = re.compile(r"(?i)xxxx|your|here|example|placeholder|changeme|private_?key")
PGP_CRC = re.compile(rb"=[A-Za-z0-9+/]{4}\s*$")
FILLER = re.compile(rb"([A-Za-z0-9+/])\1{19}")
OPENSSH_MAGIC = b"openssh-key-v1\x00"
REGISTERED_CLAIMS = frozenset(("iss", "sub", "aud", "exp", "nbf", "iat", "jti"))
SAMPLE_CLAIM = re.compile(r"(?i)example\.(?:com|org|net)|your[-_ ]|placeholder|lorem ipsum")


def pem_body(block: bytes) -> bytes:
    """The base64 text of a PEM/armor block: header lines, escaped newlines and whitespace removed."""
    m = BODY.search(block)
    text = (m.group(1) if m else block).replace(b"\\r", b"\n").replace(b"\\n", b"\n")
    text = HEADER_LINE.sub(b"", text)
    if b"PGP " in block[:40]:
        text = PGP_CRC.sub(b"", text)
    return re.sub(rb"[\s\\]+", b"", text)


def decode_prefix(body: bytes) -> bytes | None:
    """Decode base64 text, truncated to whole 4-char groups when it is an unpadded prefix."""
    if not body.endswith(b"="):
        body = body[: len(body) - len(body) % 4]
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error:
        return None


def _openssh_cipher(raw: bytes) -> bytes | None:
    if not raw.startswith(OPENSSH_MAGIC) or len(raw) < len(OPENSSH_MAGIC) + 4:
        return None
    at = len(OPENSSH_MAGIC)
    size = int.from_bytes(raw[at:at + 4], "big")
    return raw[at + 4:at + 4 + size] if 0 < size <= 64 else None


def _pgp_secret_packet(raw: bytes) -> bool:
    first = raw[0]
    if first & 0xC0 == 0xC0:
        return first & 0x3F == 5
    return first & 0xC0 == 0x80 and (first >> 2) & 0x0F == 5


def pem_key_reason(block: bytes, want: str | None) -> str | None:
    """Why a PEM/OpenSSH/PGP private key block is not a real key (filler, bad base64, wrong inner format)."""
    body = pem_body(block)
    if len(body) < 48 or shannon(body) < 4.5 or FILLER.search(body):
        return "filler"
    raw = decode_prefix(body)
    if raw is None or len(raw) < 32:
        return "not base64"
    head = block[:64]
    if want == "raw":
        return None
    if b"OPENSSH" in head:
        cipher = _openssh_cipher(raw)
        if cipher is None:
            return "not an openssh-key-v1 blob"
        if want is not None and (cipher == b"none") != (want == "plain"):
            return f"cipher {cipher.decode('latin-1')}"
        return None
    if b"PGP" in head:
        return None if _pgp_secret_packet(raw) else "not a secret-key packet"
    if b"Proc-Type:" in block[:120]:
        return None
    return None if raw[0] == 0x30 else "not DER"


def pem_base64_reason(encoded: bytes) -> str | None:
    """Why a base64 blob is not a base64-encoded PEM private key (Kubernetes Secret data, CI variables)."""
    inner = decode_prefix(encoded.rstrip(b"=") + b"=" * (-len(encoded.rstrip(b"=")) % 4))
    if inner is None:
        return "not base64"
    head = inner[:64]
    if not head.startswith(b"-----BEGIN ") or b"PRIVATE KEY-----" not in head:
        return "not a private key PEM"
    return pem_key_reason(inner, None)


def putty_key_reason(block: bytes) -> str | None:
    """Why a PuTTY .ppk block is not a real key: its key lines must be random-looking base64."""
    lines = [ln.strip() for ln in block.replace(b"\\n", b"\n").splitlines()]
    b64 = b"".join(ln for ln in lines if ln and b":" not in ln)
    if len(b64) < 64 or shannon(b64) < 4.5 or FILLER.search(b64):
        return "filler"
    return None if re.fullmatch(rb"[A-Za-z0-9+/=]+", b64) else "not base64"


def jwk_private_reason(obj_text: bytes, kty: str) -> str | None:
    """Why a JSON object is not a private JWK of the given key type."""
    try:
        obj = json.loads(obj_text.replace(b'\\"', b'"'))
    except ValueError:
        return "not JSON"
    if not isinstance(obj, dict) or obj.get("kty") != kty:
        return "wrong kty"
    member, minimum = ("k", 16) if kty == "oct" else ("d", 32)
    value = obj.get(member)
    if not isinstance(value, str) or len(value) < minimum or not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        return f"no private member {member!r}"
    if FILLER_WORDS.search(value):
        return "placeholder"
    return None if shannon(value.encode()) >= 3.5 else "low entropy"


def jwe_ok(token: bytes) -> bool:
    """True for a JWE compact serialization whose header decodes to JSON with 'alg' and 'enc'."""
    parts = token.split(b".")
    if len(parts) != 5:
        return False
    header = b64url_json(parts[0])
    return header is not None and "alg" in header and "enc" in header


def jwt_unsecured(token: bytes) -> bool:
    """True for an unsecured JWT: empty signature and header alg 'none'."""
    decoded = decode_jwt(token)
    return decoded is not None and token.endswith(b".") and str(decoded[0].get("alg", "")).lower() == "none"


def jwt_sample_reason(token: bytes) -> str | None:
    """Why a JWT is a documentation sample rather than an issued token (sample claims, filler signature)."""
    parts = token.split(b".")
    payload = b64url_json(parts[1]) if len(parts) >= 2 else None
    if payload is None:
        return "no payload"
    if payload.get("sub") == "1234567890" or payload.get("name") in ("John Doe", "Jane Doe"):
        return "documentation sample"
    if SAMPLE_CLAIM.search(json.dumps(payload)):
        return "sample claims"
    if len(payload) <= 1 and not REGISTERED_CLAIMS & payload.keys():
        return "toy payload"
    sig = parts[2] if len(parts) > 2 else b""
    if sig and (FILLER.search(sig) or re.search(rb"(?i)xxxx|signature", sig) or shannon(sig) < 3.0):
        return "filler signature"
    return None


def _pem_key(arg: Any) -> Check:
    if arg not in (None, "plain", "encrypted", "raw"):
        raise CheckError(f"pem_key takes no argument or plain|encrypted|raw, got {arg!r}")
    return lambda secret, _ctx: pem_key_reason(secret, arg) is None


def _pem_base64(_arg: Any) -> Check:
    return lambda secret, _ctx: pem_base64_reason(secret) is None


def _putty_key(_arg: Any) -> Check:
    return lambda secret, _ctx: putty_key_reason(secret) is None


def _jwk_private(arg: Any) -> Check:
    if arg not in ("RSA", "EC", "OKP", "oct"):
        raise CheckError(f"jwk_private needs a key type RSA|EC|OKP|oct, got {arg!r}")
    return lambda secret, _ctx: jwk_private_reason(secret, arg) is None


def _jwt_realistic(_arg: Any) -> Check:
    return lambda secret, _ctx: jwt_sample_reason(secret) is None


def _jwe(_arg: Any) -> Check:
    return lambda secret, _ctx: jwe_ok(secret)


def _jwt_unsecured(_arg: Any) -> Check:
    return lambda secret, _ctx: jwt_unsecured(secret)


CHECKS: dict[str, CheckFactory] = {
    "pem_key": _pem_key,
    "pem_base64": _pem_base64,
    "putty_key": _putty_key,
    "jwk_private": _jwk_private,
    "jwe": _jwe,
    "jwt_unsecured": _jwt_unsecured,
    "jwt_realistic": _jwt_realistic,
}
