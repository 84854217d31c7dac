"""Alert sinks: text, JSON lines, and webhooks (generic and Slack) with retries, against httpx.MockTransport."""

from __future__ import annotations

import io
import json
import random

import httpx
import pytest

from tests.usage_samples import aws_key_id
from tokenward.errors import UsageError
from tokenward.usage.alerts import Alert, Evidence, render_text
from tokenward.usage.sinks import JsonLinesSink, TextSink, WebhookSink, sink_for

KEY = aws_key_id(random.Random(41))


def alert(severity: str = "high") -> Alert:
    ev = Evidence("/logs/trail.json.gz:1", "2025-03-03T09:00:00Z", "185.220.101.1", "sqlmap/1.7", "iam:CreateUser",
                  200, "evt-1")
    return Alert("0123456789abcdef", "new-country", severity, "DE", "ab" * 32, KEY, KEY, "ana", "aws",
                 "2025-03-03T09:00:00Z", "countries GB", "DE from 185.220.101.1", (ev,), {"events": 900})


def test_text_and_json_lines() -> None:
    out = io.StringIO()
    TextSink(out).send(alert())
    text = out.getvalue()
    assert text.startswith("[HIGH] new-country: AKIA") and "owner ana" in text and "evidence  /logs/trail" in text
    assert KEY in text  # an access key id is an identifier: shown whole
    out = io.StringIO()
    JsonLinesSink(out).send(alert())
    data = json.loads(out.getvalue())
    assert data["alert_id"] == "0123456789abcdef" and data["evidence"][0]["where"] == "/logs/trail.json.gz:1"
    assert Alert.from_dict(data) == alert()


def test_generic_webhook_retries_5xx_then_delivers() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503 if len(calls) < 3 else 200)

    sleeps: list[float] = []
    sink = WebhookSink("https://alerts.example.test/hook", client=httpx.Client(transport=httpx.MockTransport(handler)),
                       backoff=0.1, sleep=sleeps.append)
    sink.send(alert())
    assert len(calls) == 3 and sink.delivered == 1 and sink.failed == 0
    assert sleeps == [0.1, 0.2]
    body = json.loads(calls[-1].content)
    assert body["type"] == "usage-alert" and body["alert"]["detector"] == "new-country"
    assert calls[-1].headers["content-type"] == "application/json"


def test_webhook_honours_retry_after_and_gives_up() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "2"})

    sleeps: list[float] = []
    sink = WebhookSink("https://alerts.example.test/hook", client=httpx.Client(transport=httpx.MockTransport(handler)),
                       retries=2, sleep=sleeps.append)
    sink.send(alert())
    assert sleeps == [2.0, 2.0] and sink.failed == 1 and sink.last_error == "HTTP 429"


def test_webhook_transport_errors_are_retried_and_4xx_is_not() -> None:
    attempts = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(204)

    sink = WebhookSink("https://a.example.test/", client=httpx.Client(transport=httpx.MockTransport(flaky)),
                       sleep=lambda _: None)
    sink.send(alert())
    assert attempts["n"] == 2 and sink.delivered == 1
    seen = {"n": 0}

    def bad_request(request: httpx.Request) -> httpx.Response:
        seen["n"] += 1
        return httpx.Response(400)

    sink = WebhookSink("https://a.example.test/", client=httpx.Client(transport=httpx.MockTransport(bad_request)),
                       sleep=lambda _: None)
    sink.send(alert())
    assert seen["n"] == 1 and sink.failed == 1


def test_slack_message_shape() -> None:
    got: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        got.append(json.loads(request.content))
        return httpx.Response(200, text="ok")

    client = httpx.Client(transport=httpx.MockTransport(handler))
    sink = sink_for("slack:https://hooks.slack.example.test/services/T0/B0/x", io.StringIO(), client)
    sink.send(alert("critical"))
    msg = got[0]
    assert isinstance(msg["text"], str) and msg["text"].startswith(":rotating_light: [CRITICAL] new-country")
    blocks = msg["blocks"]
    assert isinstance(blocks, list) and blocks[0]["type"] == "section" and "Alert id" in blocks[1]["text"]["text"]


def test_sink_specs() -> None:
    out = io.StringIO()
    assert isinstance(sink_for("text", out), TextSink) and isinstance(sink_for("jsonl", out), JsonLinesSink)
    assert isinstance(sink_for("https://x.example.test/h", out), WebhookSink)
    with pytest.raises(UsageError):
        sink_for("email", out)
    with pytest.raises(UsageError):
        WebhookSink("ftp://x")
    assert "expected  countries GB" in render_text(alert())
