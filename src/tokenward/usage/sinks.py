"""Alert sinks: text and JSON lines to a stream, and webhooks (generic JSON or Slack) with retries."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

import httpx

from tokenward.errors import UsageError
from tokenward.usage.alerts import Alert, AlertSink, render_json, render_text

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


class WebhookSink:
    """POSTs each alert as JSON; retries transport errors, 429 and 5xx with exponential backoff."""

    def __init__(self, url: str, style: str = "generic", client: httpx.Client | None = None, retries: int = 4,
                 backoff: float = 0.5, sleep: Callable[[float], None] = time.sleep) -> None:
        if not url.startswith(("https://", "http://")):
            raise UsageError(f"webhook URL must be http(s): {url!r}")
        if style not in STYLES:
            raise UsageError(f"unknown webhook style {style!r} (choose from {', '.join(STYLES)})")
        self.url, self.body, self.retries, self.backoff, self.sleep = url, STYLES[style], retries, backoff, sleep
        self.client = client or httpx.Client(timeout=10.0)
        self.delivered = self.failed = 0
        self.last_error: str | None = None

    def _wait(self, attempt: int, response: httpx.Response | None) -> None:
        after = response.headers.get("retry-after") if response is not None else None
        delay = float(after) if after and after.isdigit() else self.backoff * (2 ** attempt)
        self.sleep(min(delay, 30.0))

    def send(self, alert: Alert) -> None:
        """Deliver with retries; a final failure is counted (see failed/last_error), not raised."""
        body = self.body(alert)
        for attempt in range(self.retries + 1):
            response = None
            try:
                response = self.client.post(self.url, json=body)
                if response.status_code < 300:
                    self.delivered += 1
                    return
                self.last_error = f"HTTP {response.status_code}"
                if response.status_code not in RETRY_STATUS:
                    break
            except httpx.HTTPError as exc:
                self.last_error = type(exc).__name__
            if attempt < self.retries:
                self._wait(attempt, response)
        self.failed += 1

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


def sink_for(spec: str, out: TextIO, client: httpx.Client | None = None) -> AlertSink:
    """A sink from an --alerts value: text | jsonl | webhook:URL | slack:URL | a bare http(s) URL."""
    if spec == "text":
        return TextSink(out)
    if spec == "jsonl":
        return JsonLinesSink(out)
    for style in ("webhook", "slack"):
        if spec.startswith(style + ":"):
            return WebhookSink(spec[len(style) + 1:], "generic" if style == "webhook" else "slack", client)
    if spec.startswith(("https://", "http://")):
        return WebhookSink(spec, "slack" if "hooks.slack.com" in spec else "generic", client)
    raise UsageError(f"unknown --alerts {spec!r} (text, jsonl, webhook:URL or slack:URL)")
