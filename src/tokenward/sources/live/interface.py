"""What every live source shares: target URLs, credentials, the HTTP client with its retry policy, cursors.

A live source reads a provider's API (Slack, GitHub, Jira, S3, a registry…) and yields the same
Blob | SkippedItem stream as a directory walk, so the expanders and the matcher see no difference.
Credentials come from the environment or from `--auth-file`, never from the command line; a request
that still fails after bounded retries costs one item (a SkippedItem with the reason), not the scan.
"""

from __future__ import annotations

import os
import random
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx

from tokenward import __version__
from tokenward.errors import ConfigError
from tokenward.expand import looks_like_container
from tokenward.sources.filesystem import DEFAULT_MAX_SIZE
from tokenward.sources.interface import Blob, Origin, SkippedItem
from tokenward.sources.textdecode import to_scannable

T = TypeVar("T")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = f"tokenward/{__version__} (+live sources)"
MAX_PAGES = 100_000  # a provider that keeps handing out the same next page must not loop forever


# -- targets ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """A parsed target URL: scheme, host (workspace, bucket, org, site, registry), path and query."""

    url: str
    scheme: str
    host: str
    path: str
    params: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def param(self, name: str, default: str | None = None) -> str | None:
        """The last value of a query parameter."""
        values = self.params.get(name)
        return values[-1] if values else default

    def items(self, name: str) -> list[str]:
        """Every value of a list parameter, given repeated or comma-separated (`channels=a,b&channels=c`)."""
        return [v.strip() for raw in self.params.get(name, ()) for v in raw.split(",") if v.strip()]

    def flag(self, name: str, default: bool) -> bool:
        """A yes/no query parameter (1/0, true/false, yes/no)."""
        value = self.param(name)
        return default if value is None else value.lower() in ("1", "true", "yes", "on")


def parse_target(url: str) -> Target:
    """Split a target URL; ConfigError when it carries credentials (they belong in the environment)."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"{parts.scheme}://…: credentials are never taken from the command line; "
                          "use the environment variable or --auth-file named in the README's Sources table")
    params = {k: tuple(v) for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    return Target(url, parts.scheme.lower(), parts.netloc, parts.path.strip("/"), params)


# -- credentials -----------------------------------------------------------------------------------

class Credentials:
    """Secrets for live sources, by variable name: the environment first, then the --auth-file."""

    def __init__(self, environ: Mapping[str, str], file_values: Mapping[str, str], auth_file: str | None = None):
        self._environ = environ
        self._file = file_values
        self.auth_file = auth_file

    @classmethod
    def load(cls, auth_file: Path | None, environ: Mapping[str, str] | None = None) -> Credentials:
        """The environment plus an optional auth file of NAME=value lines (dotenv syntax, mode 0600)."""
        values = read_auth_file(auth_file) if auth_file is not None else {}
        return cls(os.environ if environ is None else environ, values, str(auth_file) if auth_file else None)

    def get(self, *names: str) -> str | None:
        """The first of names that is set (non-empty)."""
        for name in names:
            value = self._environ.get(name) or self._file.get(name)
            if value:
                return value
        return None

    def hint(self, *names: str) -> str:
        """Where the user puts the credential: for skip reasons (names only, never values)."""
        return f"set {' or '.join(names)} in the environment or in --auth-file"


def read_auth_file(path: Path) -> dict[str, str]:
    """NAME=value lines (`export ` prefix, quotes and # comments allowed); refuses files others can read."""
    try:
        st = path.stat()
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--auth-file {path}: {exc.strerror}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"--auth-file {path} is readable by other users: chmod 600 it")
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not name.strip().replace("_", "").isalnum():
            raise ConfigError(f"--auth-file {path}:{number}: expected NAME=value")  # the value is never echoed
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values


# -- options ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HttpPolicy:
    """Timeouts and retries of every live request."""

    timeout: float = 30.0  # seconds per request (connect, read, write, pool)
    retries: int = 5  # attempts after the first, for 429, 5xx and transport errors
    backoff: float = 0.5  # first wait when the server gives no Retry-After; doubled each attempt
    max_wait: float = 120.0  # the longest single wait honoured; a longer Retry-After fails the item


@dataclass(frozen=True)
class LiveOptions:
    """Everything a live source needs besides its URL."""

    credentials: Credentials = field(default_factory=lambda: Credentials(os.environ, {}))
    cursors: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (source key, stream) → cursor
    full: bool = False  # ignore the stored cursors (read everything again)
    max_size: int = DEFAULT_MAX_SIZE  # objects, attachments and files larger than this are skipped
    http: HttpPolicy = field(default_factory=HttpPolicy)
    base_urls: Mapping[str, str] = field(default_factory=dict)  # per source; else $TOKENWARD_<SOURCE>_BASE_URL
    cache_dir: Path | None = None  # clones and other reusable state (default: the tokenward cache dir)
    scope: Any = None  # sources.select.SourceOptions for git clones (history, branches…)
    settings: Any = None  # tokenward.settings.Settings for git clones (exclude, max size)

    def base_url(self, source: str, default: str) -> str:
        """The API base URL of a source: options, then $TOKENWARD_<SOURCE>_BASE_URL, then the public one."""
        env = f"TOKENWARD_{source.upper().replace('-', '_')}_BASE_URL"
        return (self.base_urls.get(source) or os.environ.get(env) or default).rstrip("/")

    def cursor(self, key: str, stream: str) -> str | None:
        """The stored cursor of one stream (None under --full or when never read)."""
        return None if self.full else self.cursors.get((key, stream))


# -- HTTP ------------------------------------------------------------------------------------------

class LiveError(Exception):
    """A request that failed for good (after retries): its reason is safe to show (no credential)."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def status_reason(status: int, service: str, hint: str = "") -> str:
    """A clear reason for an HTTP failure status."""
    if status == 401:
        return f"{service} rejected the credential (HTTP 401: missing, expired or revoked){'; ' + hint if hint else ''}"
    if status == 403:
        return f"{service} refused access (HTTP 403: the credential lacks permission)"
    if status == 404:
        return f"{service}: not found (HTTP 404; or not visible to this credential)"
    if status == 429:
        return f"{service} kept rate limiting (HTTP 429) after every retry"
    return f"{service} answered HTTP {status}"


def retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait: Retry-After (seconds or HTTP date), or a rate-limit reset."""
    value = response.headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - (now or time.time()))
            except (TypeError, ValueError):
                return None
    if response.headers.get("x-ratelimit-remaining") == "0" and response.headers.get("x-ratelimit-reset"):
        try:  # GitHub's primary rate limit: the epoch second the window reopens
            return max(0.0, float(response.headers["x-ratelimit-reset"]) - (now or time.time()))
        except ValueError:
            return None
    return None


def _retryable(response: httpx.Response) -> bool:
    if response.status_code in RETRY_STATUSES:
        return True
    # GitHub signals its secondary and primary rate limits with 403 plus Retry-After / remaining 0.
    return response.status_code == 403 and retry_after(response) is not None


class Api:
    """An httpx client bound to one service, with bounded retries, backoff and Retry-After."""

    def __init__(self, client: httpx.Client, service: str, policy: HttpPolicy, hint: str = "",
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.service = service
        self.policy = policy
        self.hint = hint  # where the credential comes from, for a 401's reason
        self.sleep = sleep
        self.requests = 0
        self.waited = 0.0

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """The response of a 2xx/3xx; LiveError for anything else once retries are spent."""
        for attempt in range(self.policy.retries + 1):
            response = self._send(method, url, attempt, **kwargs)
            if response is None:
                continue
            if response.is_success or response.is_redirect:
                return response
            if not _retryable(response) or attempt == self.policy.retries:
                response.close()
                raise LiveError(status_reason(response.status_code, self.service, self.hint), response.status_code)
            self.wait(attempt, retry_after(response))
        raise AssertionError("unreachable")

    def _send(self, method: str, url: str, attempt: int, **kwargs: Any) -> httpx.Response | None:
        """One attempt; None after a transport error that leaves retries."""
        self.requests += 1
        try:
            response = self.client.request(method, url, **kwargs)
            response.read()
            return response
        except (httpx.TransportError, httpx.DecodingError) as exc:
            if attempt == self.policy.retries:
                raise LiveError(f"{self.service} unreachable after {attempt + 1} attempts: "
                                f"{type(exc).__name__}") from None
            self.wait(attempt, None)
            return None

    def wait(self, attempt: int, asked: float | None) -> None:
        """Sleep before retry number attempt: what the server asked, else exponential backoff with jitter."""
        delay = asked if asked is not None else self.policy.backoff * 2 ** attempt * (1 + random.random() / 4)
        if delay > self.policy.max_wait:
            raise LiveError(f"{self.service} asks to wait {delay:.0f}s (rate limit), more than the "
                            f"{self.policy.max_wait:.0f}s allowed", 429)
        self.waited += delay
        self.sleep(delay)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        """GET with retries."""
        return self.request("GET", url, **kwargs)

    def json(self, url: str, **kwargs: Any) -> Any:
        """GET a JSON document; LiveError when the body is not JSON."""
        response = self.get(url, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise LiveError(f"{self.service} sent a malformed JSON body ({len(response.content)} bytes) "
                            f"for {response.request.url.path}") from None

    def close(self) -> None:
        """Release the connections."""
        self.client.close()


def http_client(service: str, base_url: str, options: LiveOptions, *, headers: Mapping[str, str] | None = None,
                auth: httpx.Auth | None = None, hint: str = "") -> Api:
    """The client of one source: base URL (overridable per source), timeouts, user agent, credentials."""
    client = httpx.Client(base_url=base_url, headers={"User-Agent": USER_AGENT, **(headers or {})}, auth=auth,
                          timeout=httpx.Timeout(options.http.timeout), follow_redirects=False)
    return Api(client, service, options.http, hint)


def paginate(fetch: Callable[[str | None], tuple[list[T], str | None]]) -> Iterator[T]:
    """Items of every page: fetch(cursor) → (items, next cursor or None); stops on a repeated cursor."""
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        items, cursor = fetch(cursor)
        yield from items
        if not cursor or cursor in seen:
            return
        seen.add(cursor)


def next_link(response: httpx.Response) -> str | None:
    """The rel="next" URL of an RFC 8288 Link header (GitHub, GitLab, Bitbucket-style paging)."""
    link = response.links.get("next")
    return link.get("url") if link else None


# -- blobs and sources -----------------------------------------------------------------------------

def content_blob(data: bytes, origin: Origin, location: str) -> Blob | SkippedItem:
    """A downloaded object as a blob: containers kept for the expanders, text recoded, binary skipped."""
    if looks_like_container(data[:8192], origin.path):
        return Blob(data, origin)
    text = to_scannable(data)
    if text is None:
        return SkippedItem(location, "binary content")
    return Blob(text, origin)


def too_large(size: int, location: str, options: LiveOptions) -> SkippedItem | None:
    """A policy skip when an object is larger than --max-file-size."""
    if size > options.max_size:
        return SkippedItem(location, f"too large ({size} bytes > {options.max_size})")
    return None


class LiveSource:
    """Base of the live sources: failures become skipped items; cursors of fully read streams are kept."""

    kind = "live"

    def __init__(self, target: Target, options: LiveOptions) -> None:
        self.target = target
        self.options = options
        self.new_cursors: dict[tuple[str, str], str] = {}  # saved only after the scan is recorded
        self.stats: dict[str, int] = {"items": 0, "requests": 0}

    def __iter__(self) -> Iterator[Blob | SkippedItem]:
        """The blobs of the target; a failure that ends the whole read is one error item."""
        try:
            yield from self.read()
        except LiveError as exc:
            yield SkippedItem(self.target.url, exc.reason, "error")
        finally:
            self.close()

    def read(self) -> Iterator[Blob | SkippedItem]:
        """Yield the target's blobs (a subclass reads its API here)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release clients (a subclass closes what it opened)."""

    def cursor(self, stream: str) -> str | None:
        """The stored cursor of one stream of this source (None under --full)."""
        return self.options.cursor(self.cursor_key, stream)

    def advance(self, stream: str, value: str | None) -> None:
        """Remember a stream's new cursor (call only once the stream was read without error)."""
        if value:
            self.new_cursors[(self.cursor_key, stream)] = value

    @property
    def cursor_key(self) -> str:
        """The key cursors are stored under: scheme://host (streams below it are channels, prefixes, tags)."""
        return f"{self.target.scheme}://{self.target.host}"

    def origin(self, path: str, details: tuple[tuple[str, str], ...]) -> Origin:
        """The origin of one item read from this target."""
        return Origin(self.kind, self.root, path, details=details)

    @property
    def root(self) -> str:
        """The target without its query: what the inventory records as the source."""
        return f"{self.target.scheme}://{self.target.host}/{self.target.path}".rstrip("/")


def error_item(location: str, exc: LiveError) -> SkippedItem:
    """A partial failure: one channel, object or issue that could not be read."""
    return SkippedItem(location, exc.reason, "error")
