"""Build format-valid fake tokens at test time (never stored as literals outside rule examples)."""

from __future__ import annotations

import base64
import json
import random
import string
import zlib

from tokenward.checks.checksum import base62

ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


class TokenFactory:
    """Deterministic generator of fake tokens in provider formats."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)

    def chars(self, alphabet: str, n: int) -> str:
        """n random characters drawn from alphabet, guaranteed to mix classes when it can."""
        while True:
            value = "".join(self.rng.choice(alphabet) for _ in range(n))
            if n < 8 or len({c.isdigit() for c in value} | {c.isupper() for c in value}) > 1:
                return value

    def crc_base62(self, prefix: str, n: int = 30) -> str:
        """A GitHub/npm style token: prefix + n base62 chars + 6-char base62 CRC32 of those chars."""
        body = self.chars(ALNUM, n)
        return prefix + body + base62(zlib.crc32(body.encode())).decode()

    def github_classic(self) -> str:
        """ghp_ personal access token with a valid checksum."""
        return self.crc_base62("ghp_")

    def jwt(self, claims: dict[str, object] | None = None) -> str:
        """An unsigned-looking HS256 JWT with the given claims."""
        def seg(obj: dict[str, object]) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
        payload = claims or {"sub": self.chars(ALNUM, 10), "iat": 1700000000}
        return f"{seg({'alg': 'HS256', 'typ': 'JWT'})}.{seg(payload)}.{self.chars(URLSAFE, 43)}"


def leading_zero_github_token(prefix: str = "ghp_") -> str:
    """A token whose CRC32 checksum encodes with a leading zero (padding must be handled)."""
    rng = random.Random(11)
    while True:
        body = "".join(rng.choice(ALNUM) for _ in range(30))
        crc = zlib.crc32(body.encode())
        if crc < 62 ** 5:
            return prefix + body + base62(crc).decode()
