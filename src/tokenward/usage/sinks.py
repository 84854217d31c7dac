"""Alert sinks: text and JSON lines to a stream, and webhooks (generic JSON or Slack) with retries."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from tokenward.errors import UsageError
from tokenward.usage.alerts import Alert, AlertSink, render_json, render_text

if TYPE_CHECKING:  # httpx is imported by the webhook sink only: a run without webhooks starts faster
    import httpx

RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
SLACK_EMOJI = {"critical": ":rotating_light:", "high": ":red_circle:", "medium": ":large_orange_circle:",
               "low": ":white_circle:"}


class TextSink:
    """Human-readable alerts."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def send(self, alert: Alert) -> None:
        """Write the alert's text form."""
        self.out.write(render_text(alert))
        self.out.flush()

    def close(self) -> None:
        """Flush."""
        self.out.flush()


class JsonLinesSink:
    """One JSON object per alert."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def send(self, alert: Alert) -> None:
        """Write one line."""
        self.out.write(render_json(alert) + "\n")
        self.out.flush()

    def close(self) -> None:
        """Flush."""
        self.out.flush()


def generic_body(alert: Alert) -> dict[str, Any]:
    """The generic webhook body: the alert itself, tagged."""
    return {"source": "tokenward", "type": "usage-alert", "alert": alert.to_dict()}


def slack_body(alert: Alert) -> dict[str, Any]:
    """A Slack incoming-webhook message (text fallback plus blocks)."""
    text = f"{SLACK_EMOJI.get(alert.severity, '')} {alert.headline()}".strip()
    details = (f"*Expected:* {alert.expected}\n*Seen:* {alert.observed}\n*When:* {alert.at}\n"
               f"*Evidence:* {', '.join(e.where for e in alert.evidence[:3])}\n*Alert id:* `{alert.alert_id}`")
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}},
                                     {"type": "section", "text": {"type": "mrkdwn", "text": details}}]}


STYLES: dict[str, Callable[[Alert], dict[str, Any]]] = {"generic": generic_body, "slack": slack_body}


def shown_url(url: str) -> str:
    """A webhook URL as safe to print: scheme and host only (a Slack hook's path is its secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{f':{parts.port}' if parts.port else ''}/…"


def spool_file(spool_dir: Path, url: str) -> Path:
    """Where alerts a webhook did not take wait for the next run (named by a hash: the URL may be secret)."""
    return spool_dir / f"webhook-{hashlib.sha256(url.encode()).hexdigest()[:24]}.jsonl"


class WebhookSink:
    """POSTs each alert as JSON; retries transport errors, 429 and 5xx with exponential backoff.

    An alert still undelivered after the retries is appended to the spool file (when there is one) and
    sent again, first, by replay() on the next run; after one such failure later alerts get a single try.
    """

    def __init__(self, url: str, style: str = "generic", client: httpx.Client | None = None, retries: int = 4,
                 backoff: float = 0.5, sleep: Callable[[float], None] = time.sleep, spool: Path | None = None) -> None:
        if not url.startswith(("https://", "http://")):
            raise UsageError(f"webhook URL must be http(s): {url!r}")
        if style not in STYLES:
            raise UsageError(f"unknown webhook style {style!r} (choose from {', '.join(STYLES)})")
        self.url, self.body, self.retries, self.backoff, self.sleep = url, STYLES[style], retries, backoff, sleep
        if client is None:
            import httpx

            client = httpx.Client(timeout=10.0)
        self.client = client
        self.spool = spool
        self.delivered = self.failed = self.spooled = self.replayed = 0
        self.last_error: str | None = None
        self._down = False  # the last alert failed after every retry: try the next ones once

    def _wait(self, attempt: int, response: httpx.Response | None) -> None:
        after = response.headers.get("retry-after") if response is not None else None
        delay = float(after) if after and after.isdigit() else self.backoff * (2 ** attempt)
        self.sleep(min(delay, 30.0))

    def _post(self, alert: Alert) -> bool:
        import httpx

        body = self.body(alert)
        retries = 0 if self._down else self.retries
        for attempt in range(retries + 1):
            response = None
            try:
                response = self.client.post(self.url, json=body)
                if response.status_code < 300:
                    self._down = False
                    return True
                self.last_error = f"HTTP {response.status_code}"
                if response.status_code not in RETRY_STATUS:
                    break
            except httpx.HTTPError as exc:
                self.last_error = type(exc).__name__
            if attempt < retries:
                self._wait(attempt, response)
        self._down = True
        return False

    def send(self, alert: Alert) -> None:
        """Deliver with retries; a final failure is counted (failed/last_error) and spooled, never raised."""
        if self._post(alert):
            self.delivered += 1
            return
        self.failed += 1
        if self.spool is not None:
            try:
                self.spool.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(self.spool, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(alert.to_dict(), sort_keys=True, default=str) + "\n")
                self.spooled += 1
            except OSError as exc:
                self.last_error = f"{self.last_error}; spool {self.spool}: {exc.strerror}"

    def replay(self) -> int:
        """Send the alerts spooled by earlier runs, oldest first; keep those still undelivered. Returns how many
        were delivered (it stops at the first failure: the endpoint is still down)."""
        if self.spool is None or not self.spool.is_file():
            return 0
        try:
            lines = [ln for ln in self.spool.read_text(encoding="utf-8").splitlines() if ln.strip()]
        except OSError as exc:
            self.last_error = f"spool {self.spool}: {exc.strerror}"
            return 0
        sent = 0
        for line in lines:
            try:
                alert = Alert.from_dict(json.loads(line))
            except (ValueError, TypeError):
                sent += 1  # not an alert (damaged line): drop it
                continue
            if not self._post(alert):
                break
            sent += 1
            self.replayed += 1
        rest = lines[sent:]
        if rest:
            tmp = self.spool.with_suffix(".tmp")
            tmp.write_text("".join(ln + "\n" for ln in rest), encoding="utf-8")
            os.replace(tmp, self.spool)
        else:
            self.spool.unlink(missing_ok=True)
        return self.replayed

    def problem(self) -> str | None:
        """One line for the run summary when alerts were not delivered (None when all went through)."""
        waiting = self._waiting()
        if not self.failed and not waiting:
            return None
        where = f"; kept in {self.spool} for the next run" if self.spool is not None and waiting else ""
        return (f"webhook {shown_url(self.url)}: {self.failed} alert(s) not delivered "
                f"({self.last_error or 'unknown error'}){where}, {waiting} waiting")

    def _waiting(self) -> int:
        if self.spool is None or not self.spool.is_file():
            return 0
        try:
            with self.spool.open(encoding="utf-8") as fh:
                return sum(1 for ln in fh if ln.strip())
        except OSError:
            return 0

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


def sink_for(spec: str, out: TextIO, client: httpx.Client | None = None,
             spool_dir: Path | None = None) -> AlertSink:
    """A sink from an --alerts value: text | jsonl | webhook:URL | slack:URL | a bare http(s) URL.

    Webhooks spool what they could not deliver under spool_dir (when given), one file per URL.
    """
    if spec == "text":
        return TextSink(out)
    if spec == "jsonl":
        return JsonLinesSink(out)
    for style in ("webhook", "slack"):
        if spec.startswith(style + ":"):
            url = spec[len(style) + 1:]
            return WebhookSink(url, "generic" if style == "webhook" else "slack", client,
                               spool=spool_file(spool_dir, url) if spool_dir else None)
    if spec.startswith(("https://", "http://")):
        return WebhookSink(spec, "slack" if "hooks.slack.com" in spec else "generic", client,
                           spool=spool_file(spool_dir, spec) if spool_dir else None)
    raise UsageError(f"unknown --alerts {spec!r} (text, jsonl, webhook:URL or slack:URL)")
