"""AWS CloudTrail: JSON files with a Records array (as delivered to S3) or one record per line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tokenward.usage.events import AWS_KEY_ID, DENIED, FAILED, ParseContext, UsageEvent, iso_seconds
from tokenward.usage.parsers.interface import as_text, json_records

DENIED_CODES = ("AccessDenied", "Unauthorized", "Forbidden", "AuthFailure", "InvalidClientTokenId",
                "SignatureDoesNotMatch", "ExpiredToken", "InvalidAccessKeyId", "NotAuthorized")
# eventSource host -> IAM service prefix, where the two differ
SERVICE_PREFIX = {"monitoring": "cloudwatch", "email": "ses", "elasticloadbalancing": "elasticloadbalancing",
                  "es": "es", "logs": "logs", "execute-api": "execute-api"}


def iam_action(event_source: str, event_name: str) -> str:
    """The IAM action of a CloudTrail record: 's3.amazonaws.com' + 'GetObject' -> 's3:GetObject'."""
    service = event_source.split(".", 1)[0]
    return f"{SERVICE_PREFIX.get(service, service)}:{event_name}"


def _status(error_code: Any) -> int:
    if not error_code:
        return 200
    code = str(error_code)
    return DENIED if any(d in code for d in DENIED_CODES) else FAILED if "Internal" in code else 400


def _ip(value: Any) -> str | None:
    text = as_text(value)
    if text is None or text == "AWS Internal" or text.endswith(".amazonaws.com"):
        return None  # a service acting on the caller's behalf, not a network address
    return text


def _event(rec: Any, line: int, ctx: ParseContext) -> UsageEvent | None:
    if not isinstance(rec, dict) or "eventTime" not in rec or "eventSource" not in rec:
        ctx.bad(line, "not a CloudTrail record (no eventTime/eventSource)")
        return None
    who = rec.get("userIdentity")
    key = who.get("accessKeyId") if isinstance(who, dict) else None
    if not key:
        ctx.unattributed += 1
        return None
    try:
        at = iso_seconds(str(rec["eventTime"]))
    except ValueError:
        ctx.bad(line, "unreadable eventTime")
        return None
    return UsageEvent(at, AWS_KEY_ID, str(key), "aws", _ip(rec.get("sourceIPAddress")), as_text(rec.get("userAgent")),
                      iam_action(str(rec["eventSource"]), str(rec.get("eventName", "?"))),
                      _status(rec.get("errorCode")), line, as_text(rec.get("eventID")))


class CloudTrailParser:
    """CloudTrail records: identity = userIdentity.accessKeyId, action = IAM action."""

    name = "cloudtrail"

    def sniff(self, line: bytes) -> bool:
        """A Records document or a single record with eventSource and eventTime."""
        head = line[:4096]
        return b'"eventSource"' in head and (b'"Records"' in head or b'"eventVersion"' in head)

    def parse(self, lines: Sequence[bytes], first_line: int, ctx: ParseContext) -> list[UsageEvent]:
        """Events of every keyed record in lines."""
        records = json_records(lines, first_line, ctx, _unwrap)
        return [ev for i, rec in records if (ev := _event(rec, i, ctx)) is not None]


def _unwrap(doc: Any) -> Any:
    """The records of a CloudTrail document: its Records list, or the document itself (JSON lines)."""
    return doc.get("Records") if isinstance(doc, dict) and "Records" in doc else doc
