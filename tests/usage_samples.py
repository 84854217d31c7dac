"""Realistic usage-log samples built at test time, written from each format's documentation.

Identifiers (AWS key ids, GitHub tokens, Vault accessors) are generated per test; nothing here is a
token literal.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tests.tokens import TokenFactory
from tokenward.identity import github_hashed_token

B32 = string.ascii_uppercase + "234567"
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday


def aws_key_id(rng: random.Random, prefix: str = "AKIA") -> str:
    """An access key id: AKIA + 16 characters of [A-Z2-7]."""
    return prefix + "".join(rng.choice(B32) for _ in range(16))


def github_token(seed: int) -> str:
    """A format-valid fake classic GitHub token."""
    return TokenFactory(seed).github_classic()


def vault_accessor(rng: random.Random) -> str:
    """An accessor as OpenBao prints them (24 base62 characters)."""
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(24))


def hmac_like(rng: random.Random) -> str:
    """A value as the audit device writes it."""
    return "hmac-sha256:" + "".join(rng.choice("0123456789abcdef") for _ in range(64))


def cloudtrail_record(key: str, at: datetime, name: str = "GetObject", source: str = "s3.amazonaws.com",
                      ip: str = "81.2.69.160", agent: str = "aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0 exe/x86_64",
                      error: str | None = None, event_id: str | None = None) -> dict[str, Any]:
    """One CloudTrail record (eventVersion 1.08) made with access key `key`."""
    rec: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDA" + key[4:], "arn": "arn:aws:iam::123456789012:user/ci",
                         "accountId": "123456789012", "accessKeyId": key, "userName": "ci"},
        "eventTime": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "eventSource": source, "eventName": name,
        "awsRegion": "eu-west-1", "sourceIPAddress": ip, "userAgent": agent,
        "requestParameters": {"bucketName": "builds", "key": "artifact.tgz"}, "responseElements": None,
        "requestID": "9F2A7C1E3B4D5A6F", "eventID": event_id or f"evt-{at.timestamp():.0f}-{name}",
        "readOnly": name.startswith(("Get", "List", "Describe")), "eventType": "AwsApiCall",
        "managementEvent": source != "s3.amazonaws.com", "recipientAccountId": "123456789012",
        "eventCategory": "Management",
    }
    if error:
        rec["errorCode"], rec["errorMessage"] = error, "User is not authorized to perform this operation"
    return rec


def cloudtrail_file(path: Path, records: list[dict[str, Any]], gz: bool = True) -> Path:
    """A CloudTrail log file as delivered to S3: one JSON document {"Records": [...]}, gzip."""
    data = json.dumps({"Records": records}).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def github_audit_record(token: str, at: datetime, action: str = "git.clone", ip: str | None = "81.2.69.160",
                        scopes: str = "repo,workflow", doc: int = 0) -> dict[str, Any]:
    """One GitHub audit log event made with a personal access token (the export's field names)."""
    ms = int(at.timestamp() * 1000)
    rec: dict[str, Any] = {
        "@timestamp": ms, "_document_id": f"doc{doc:06d}xQ", "action": action, "actor": "octo-dev",
        "actor_id": 4242, "business": "example-co", "created_at": ms, "org": "example-org",
        "repo": "example-org/api", "hashed_token": github_hashed_token(token.encode()), "token_id": 9876543,
        "programmatic_access_type": "Personal access token (classic)", "token_scopes": scopes,
        "user_agent": "git/2.43.0", "operation_type": "access", "transport_protocol_name": "http",
    }
    if ip is not None:
        rec["actor_ip"] = ip
    return rec


def openbao_entry(kind: str, client_hmac: str, accessor_hmac: str, at: datetime, path: str = "secret/data/app",
                  operation: str = "read", error: str | None = None, ip: str = "127.0.0.1") -> dict[str, Any]:
    """One file audit device entry (request or response) as OpenBao 2.x writes it."""
    auth = {"client_token": client_hmac, "accessor": accessor_hmac, "display_name": "token",
            "policies": ["default", "app"], "token_policies": ["default", "app"], "token_type": "service"}
    req = {"id": f"req-{at.timestamp():.3f}", "operation": operation, "mount_point": "secret/", "mount_type": "kv",
           "client_token": client_hmac, "client_token_accessor": accessor_hmac, "namespace": {"id": "root"},
           "path": path, "remote_address": ip, "remote_port": 51000}
    entry: dict[str, Any] = {"time": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "type": kind, "auth": auth,
                             "request": req}
    if kind == "response":
        entry["response"] = {"mount_type": "kv", "data": {"data": "hmac-sha256:00"}}
    if error:
        entry["error"] = error
    return entry


def combined_line(ip: str, at: datetime, request: str, status: int, agent: str, auth: str = "-") -> str:
    """An nginx `combined` line plus a quoted $http_authorization field."""
    when = at.strftime("%d/%b/%Y:%H:%M:%S %z")
    return f'{ip} - - [{when}] "{request}" {status} 512 "-" "{agent}" "{auth}"'


def nginx_json_line(ip: str, at: datetime, method: str, uri: str, status: int, agent: str, auth: str = "") -> str:
    """An nginx `log_format json escape=json` line."""
    return json.dumps({"time_iso8601": at.isoformat(), "remote_addr": ip, "request_method": method,
                       "request_uri": uri, "status": status, "body_bytes_sent": 512, "http_user_agent": agent,
                       "http_authorization": auth, "request_time": 0.012})


def otel_line(token_header: str, at: datetime, method: str = "GET", route: str = "/v1/items", status: int = 200,
              ip: str = "81.2.69.160") -> str:
    """One OTLP/JSON ExportLogsServiceRequest with one HTTP server log record."""
    def attr(k: str, v: Any) -> dict[str, Any]:
        return {"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
    rec = {"timeUnixNano": str(int(at.timestamp() * 1e9)), "severityText": "INFO", "body": {"stringValue": "req"},
           "attributes": [attr("http.request.method", method), attr("url.path", route),
                          attr("http.response.status_code", status), attr("client.address", ip),
                          attr("user_agent.original", "okhttp/4.12.0"),
                          {"key": "http.request.header.authorization",
                           "value": {"arrayValue": {"values": [{"stringValue": token_header}]}}}]}
    return json.dumps({"resourceLogs": [{"resource": {"attributes": [attr("service.name", "api")]},
                                         "scopeLogs": [{"scope": {"name": "http"}, "logRecords": [rec]}]}]})


def basic_auth(user: str, password: str) -> str:
    """An Authorization: Basic value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Traffic:
    """A small benign history for one token, then whatever a test appends (JSON lines, generic format)."""

    token_id: str
    rng: random.Random = field(default_factory=lambda: random.Random(5))
    lines: list[str] = field(default_factory=list)

    def benign(self, days: int = 21, per_hour: int = 6, ips: tuple[str, ...] = ("81.2.69.160", "81.2.69.161"),
               start: datetime = T0) -> datetime:
        """Working-hours use (Mon-Fri 08-18 UTC) from a fixed office network; returns the end time."""
        at = start
        for day in range(days):
            base = start + timedelta(days=day)
            if base.weekday() >= 5:
                continue
            for hour in range(8, 18):
                for _ in range(per_hour):
                    at = base.replace(hour=hour, minute=self.rng.randrange(60), second=self.rng.randrange(60))
                    self.add(at, self.rng.choice(ips), "aws-cli/2.15.0 Python/3.11.6",
                             self.rng.choice(["s3:GetObject", "s3:PutObject", "s3:ListBucket"]))
        return at

    def add(self, at: datetime, ip: str, agent: str, action: str, status: int = 200) -> None:
        """One request."""
        self.lines.append(json.dumps({"ts": at.isoformat(), "token_id": self.token_id, "ip": ip, "user_agent": agent,
                                      "action": action, "status": status}))

    def write(self, path: Path) -> Path:
        """Write the lines, time-ordered."""
        self.lines.sort(key=lambda ln: json.loads(ln)["ts"])
        path.write_text("\n".join(self.lines) + "\n")
        return path


def zone(hours: int) -> timezone:
    """A fixed UTC offset."""
    return timezone(timedelta(hours=hours))


def monitor_run(logs: Path, db: Path, workers: int) -> tuple[Any, ...]:
    """`monitor_parallel` over logs into a fresh inventory, then again (offsets were saved: nothing is read
    twice): summary counts, alerts, stored baselines and file reports, for comparing worker counts."""
    from tests.usage.test_usage_detectors import ListSink
    from tokenward.store import Inventory
    from tokenward.store.usage import UsageState
    from tokenward.usage.alerts import AlertManager
    from tokenward.usage.identity import InventoryDirectory, Joiner
    from tokenward.usage.monitor import Monitor
    from tokenward.usage.parallel import monitor_parallel

    sink = ListSink()
    with Inventory.open(f"sqlite:///{db}") as inv:
        state = UsageState(inv.engine)
        m = Monitor(Joiner(InventoryDirectory(inv), state.idents(), state.token_flags()), AlertManager([sink]), state)
        summary = monitor_parallel(m, [str(logs)], workers)
        again = Monitor(Joiner(InventoryDirectory(inv)), AlertManager([]), UsageState(inv.engine))
        assert monitor_parallel(again, [str(logs)], workers).events == 0  # offsets were saved
        profiles = UsageState(inv.engine).profiles()
    alerts = sorted((a.alert_id, a.token_id, a.detector, a.at, a.observed) for a in sink.alerts)
    files = [(f.path, f.fmt, f.events, f.malformed, f.unattributed, f.note, f.unreadable) for f in summary.files]
    return (summary.events, summary.malformed, summary.unmapped, summary.alerts), alerts, profiles, files
