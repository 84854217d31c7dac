"""How the served dashboard behaves: cookies, sessions, login limits, polling, page sizes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WebSettings:
    """Settings of one `tokenward serve` (the CLI fills them from its options)."""

    secure_cookies: bool = False  # TLS or a TLS-terminating proxy in front: cookies get Secure (https requests always)
    session_hours: float = 12.0
    login_attempts: int = 10  # failed logins per client address per window before 429
    login_window_seconds: float = 300.0
    poll_ms: int = 1000  # pages ask /api/changes this often (updates land within 2 s)
    overdue_days: int = 90  # an open token first seen longer ago than this is overdue for rotation
    page_size: int = 50
    key_cache_seconds: float = 60.0  # a verified API key is trusted this long without a new argon2 check
    session_cache_seconds: float = 5.0  # a session read is reused this long (a logout elsewhere: refused within it)
