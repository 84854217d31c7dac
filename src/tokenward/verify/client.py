"""The one HTTP client every verifier and revoker uses.

Requests go only to the provider's base URL (redirects are never followed, a URL leaving the base host is
refused), with timeouts, a per-provider rate limit, backoff that honours Retry-After, a concurrency cap and
a per-run request cap. Request headers and URLs are never logged: query strings may hold a token.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from tokenward import __version__
from tokenward.errors import ConfigError
from tokenward.verify.interface import Call, Failure, Reply

ENDPOINTS_ENV = "TOKENWARD_VERIFY_ENDPOINTS"
MAX_BODY = 1 << 20
USER_AGENT = f"tokenward/{__version__} (+token verification)"


@dataclass
class Limits:
    """Timeouts, pacing and caps for one run."""

    timeout: float = 10.0
    concurrency: int = 4
    min_interval: float = 0.25  # seconds between two requests to one provider
    retries: int = 2  # on 429/503 with a usable Retry-After
    max_wait: float = 30.0  # longest Retry-After honoured; longer means unknown (rate limited)
    max_requests: int = 1000  # per run


def endpoints_from_env() -> dict[str, str]:
    """$TOKENWARD_VERIFY_ENDPOINTS ("github=http://127.0.0.1:8080,*=http://…"): base URL overrides, for
    self-hosted instances (GitLab, Vault) and for tests against a fake provider."""
    raw = os.environ.get(ENDPOINTS_ENV, "").strip()
    out: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in raw.split(","))):
        name, sep, url = item.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise ConfigError(f"{ENDPOINTS_ENV}: expected provider=http(s)://host, got {item!r}")
        out[name.strip()] = url.strip().rstrip("/")
    return out


def _quiet_loggers() -> None:
    # httpx logs every request URL at INFO and httpcore traces at DEBUG; a query-string token would
    # end up in an application's logs.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


@dataclass
class _Pace:
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_at: float = 0.0


class ProviderClient:
    """Shared by every provider in a run; `bind` gives a provider's view of it."""

    def __init__(self, limits: Limits | None = None, endpoints: Mapping[str, str] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        _quiet_loggers()
        self.limits = limits or Limits()
        self.endpoints = dict(endpoints or {})
        timeout = httpx.Timeout(self.limits.timeout, connect=min(5.0, self.limits.timeout))
        self._http = httpx.Client(timeout=timeout, follow_redirects=False, transport=transport,
                                  headers={"User-Agent": USER_AGENT}, trust_env=False)
        self._slots = threading.BoundedSemaphore(self.limits.concurrency)
        self._paces: dict[str, _Pace] = {}
        self._lock = threading.Lock()
        self.requests = 0
        self.failures = 0  # requests that got no HTTP answer at all (all of them: the network is down)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> ProviderClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def base_for(self, provider: str, default: str) -> str:
        """The base URL used for provider: an override, else the documented default."""
        return (self.endpoints.get(provider) or self.endpoints.get("*") or default).rstrip("/")

    def bind(self, provider: str, default_base: str) -> BoundHttp:
        """The Http for one provider at its base URL."""
        return BoundHttp(self, provider, self.base_for(provider, default_base))

    def _pace(self, provider: str) -> None:
        with self._lock:
            pace = self._paces.setdefault(provider, _Pace())
        with pace.lock:
            wait = pace.next_at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            pace.next_at = time.monotonic() + self.limits.min_interval

    def _take(self) -> bool:
        with self._lock:
            if self.requests >= self.limits.max_requests:
                return False
            self.requests += 1
            return True

    def send(self, provider: str, base: str, call: Call) -> Reply | Failure:
        """One call, retried on 429/503 when the provider says how long to wait (and that is short)."""
        for attempt in range(self.limits.retries + 1):
            answer = self._once(provider, base, call)
            delay = _retry_after(answer) if attempt < self.limits.retries else None
            if delay is None or delay > self.limits.max_wait:
                return answer
            time.sleep(delay)
        return answer

    def _once(self, provider: str, base: str, call: Call) -> Reply | Failure:
        url = _url(base, call.path)
        if isinstance(url, Failure):
            return url
        if not self._take():
            return Failure(f"per-run request cap ({self.limits.max_requests}) reached")
        self._pace(provider)
        with self._slots:
            answer = self._request(url, call)
        if isinstance(answer, Failure):
            with self._lock:
                self.failures += 1
        return answer

    def _request(self, url: httpx.URL, call: Call) -> Reply | Failure:
        auth = httpx.BasicAuth(*call.basic) if call.basic else None
        try:
            with self._http.stream(call.method, url, headers=list(call.headers), params=list(call.params) or None,
                                   json=call.json, data=dict(call.form) or None, auth=auth,
                                   content=call.body.encode() if call.body is not None else None) as r:
                body = bytearray()
                for chunk in r.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        break
                return Reply(r.status_code, {k.lower(): v for k, v in r.headers.items()}, bytes(body))
        except httpx.TimeoutException:
            return Failure(f"timeout after {self.limits.timeout:g}s")
        except httpx.HTTPError as exc:
            return Failure(_network_reason(exc))


def _url(base: str, path: str) -> httpx.URL | Failure:
    """base + path, refused when the result would leave the base URL's scheme, host or port."""
    if not path.startswith("/") or path.startswith("//"):
        return Failure("refused: the path is not relative to the provider's base URL")
    root = httpx.URL(base)
    url = httpx.URL(base.rstrip("/") + path)
    if (url.scheme, url.host, url.port) != (root.scheme, root.host, root.port):
        return Failure(f"refused: the request would leave {root.host}")
    return url


def _retry_after(answer: Reply | Failure) -> float | None:
    if isinstance(answer, Failure) or answer.status not in (429, 503):
        return None
    value = answer.headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else None


def _network_reason(exc: httpx.HTTPError) -> str:
    # Never str(exc) as such: some messages quote the URL, and a URL may hold a token.
    text = str(exc)
    if "SSL" in text or "certificate" in text.lower():
        return "TLS error (certificate or handshake)"
    if isinstance(exc, httpx.ConnectError):
        return "connection failed (network down or host unreachable)"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server closed the connection or spoke invalid HTTP"
    return f"network error ({type(exc).__name__})"


@dataclass
class BoundHttp:
    """A ProviderClient bound to one provider and its base URL (the `Http` verifiers get)."""

    client: ProviderClient
    provider: str
    base: str

    def send(self, call: Call) -> Reply | Failure:
        """Send call to this provider's base URL."""
        return self.client.send(self.provider, self.base, call)
