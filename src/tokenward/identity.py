"""The only plaintext → identifier path: token_id (HMAC), public ids and redacted previews."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from tokenward.errors import IdentityError

KEY_ENV = "TOKENWARD_KEY"
KEY_BYTES = 32
PREFIX_MAX = 16


def config_dir() -> Path:
    """The user's tokenward config directory (XDG_CONFIG_HOME aware; TOKENWARD_CONFIG_DIR overrides)."""
    override = os.environ.get("TOKENWARD_CONFIG_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tokenward"


def _parse_key(text: str, where: str) -> bytes:
    value = text.strip()
    try:
        key = bytes.fromhex(value)
    except ValueError:
        raise IdentityError(f"{where}: the fingerprint key must be hexadecimal (at least 32 hex characters, "
                            "e.g. from `openssl rand -hex 32`)") from None
    if len(key) < 16:
        raise IdentityError(f"{where}: the fingerprint key must be at least 16 bytes (32 hex chars)")
    return key


def _create_key(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex() + "\n")
    return key


def load_key(path: Path | None = None) -> bytes:
    """The HMAC key: $TOKENWARD_KEY, else the 0600 key file, created on first use."""
    env = os.environ.get(KEY_ENV)
    if env:
        return _parse_key(env, KEY_ENV)
    path = path or config_dir() / "key"
    try:
        if not path.exists():
            try:
                return _create_key(path)
            except FileExistsError:
                pass  # another process created it first; read theirs
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            os.chmod(path, 0o600)
        return _parse_key(path.read_text(), str(path))
    except OSError as exc:
        raise IdentityError(f"cannot read or create the fingerprint key at {path}: {exc.strerror}") from None


def key_check_value(key: bytes) -> str:
    """A value that identifies the key without revealing it (for refusing mismatched writers)."""
    return hmac.new(key, b"tokenward key check v1", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Fingerprinter:
    """Turns plaintext secrets into token ids and previews."""

    key: bytes

    def token_id(self, secret: bytes) -> str:
        """HMAC-SHA256(key, secret), hex."""
        return hmac.new(self.key, secret, hashlib.sha256).hexdigest()


def github_hashed_token(secret: bytes) -> str:
    """GitHub's audit-log `hashed_token`: base64 of SHA-256 of the token."""
    return base64.b64encode(hashlib.sha256(secret).digest()).decode()


def _prefix(secret: str) -> str:
    # A provider prefix is the leading run up to the last '_' or '-' (or '.') within the first 16 chars,
    # e.g. "ghp_", "sk_live_", "xoxb-", "glpat-", "dp.pt.".
    head = secret[:PREFIX_MAX]
    cut = max(head.rfind("_"), head.rfind("-"), head.rfind("."))
    if cut < 2 or len(secret) - (cut + 1) < 16:
        return ""
    prefix = secret[: cut + 1]
    return prefix if prefix.replace("_", "").replace("-", "").replace(".", "").isalnum() else ""


def preview(secret: bytes) -> str:
    """Redacted preview: provider prefix + last 4 characters at most; nothing for short secrets."""
    text = secret.decode("utf-8", "replace")
    if text.startswith("-----BEGIN"):
        return text.split("\n", 1)[0].strip()[:48] + "…"
    if "\n" in text:
        return "…"
    if len(text) < 16:
        return "…"
    return f"{_prefix(text)}…{text[-4:]}"
