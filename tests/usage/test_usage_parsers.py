"""Each usage log parser on realistic samples: identity, action, status, UTC time, malformed lines, auto-detect."""

from __future__ import annotations

import gzip
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests import usage_samples as s
from tokenward.identity import Fingerprinter, github_hashed_token
from tokenward.usage import logfiles
from tokenward.usage.events import (
    AWS_KEY_ID,
    GITHUB_HASHED,
    TOKEN_ID,
    VAULT_ACCESSOR,
    VAULT_HMAC,
    ParseContext,
    UsageEvent,
    any_seconds,
    parse_since,
)
from tokenward.usage.parsers import PARSERS, ParserOptions, choose
from tokenward.usage.parsers.access import route

FP = Fingerprinter(b"k" * 32)
OPTS = ParserOptions(fingerprinter=FP)


def parse_file(path: Path, fmt: str = "auto", options: ParserOptions = OPTS) -> tuple[list[UsageEvent], ParseContext]:
    """Read a log the way the monitor does (gzip, documents, batches) with the chosen parser."""
    head = logfiles.head_of(str(path), 1 << 16)
    first = next(ln for ln in head.split(b"\n") if ln.strip())
    doc = logfiles.is_document(head)
    parser = choose(fmt, head if doc else first, options)
    assert parser is not None, "format not recognised"
    ctx = ParseContext(str(path))
    events: list[UsageEvent] = []
    with logfiles.open_log(str(path)) as fh:
        batches = [logfiles.document(fh)] if doc else list(logfiles.batches(fh, 0, 1))
    for b in batches:
        events += parser.parse(b.lines, b.first_line, ctx)
    return events, ctx


def test_cloudtrail_gzip_records_document(tmp_path: Path) -> None:
    rng = random.Random(1)
    key, other = s.aws_key_id(rng), s.aws_key_id(rng, "ASIA")
    recs = [s.cloudtrail_record(key, s.T0 + timedelta(minutes=i)) for i in range(3)]
    recs.append(s.cloudtrail_record(other, s.T0, "CreateUser", "iam.amazonaws.com", error="AccessDenied"))
    recs.append(s.cloudtrail_record(key, s.T0, "AssumeRole", "sts.amazonaws.com", ip="sts.amazonaws.com"))
    console = s.cloudtrail_record(key, s.T0)
    del console["userIdentity"]["accessKeyId"]
    recs.append(console)
    path = s.cloudtrail_file(tmp_path / "AWSLogs/123456789012/CloudTrail/eu-west-1/2025/03/03/x.json.gz", recs)
    events, ctx = parse_file(path)
    assert [e.ident for e in events] == [key] * 3 + [other, key]
    assert all(e.ident_kind == AWS_KEY_ID and e.provider == "aws" for e in events)
    assert events[0].action == "s3:GetObject" and events[0].status == 200 and events[0].ip == "81.2.69.160"
    assert events[0].at == s.T0.timestamp() and events[0].ref and events[0].line == 1
    assert events[3].action == "iam:CreateUser" and events[3].status == 403
    assert events[4].ip is None  # a service acting on the caller's behalf is no address
    assert ctx.unattributed == 1 and ctx.malformed == 0


def test_cloudtrail_json_lines_and_malformed(tmp_path: Path) -> None:
    key = s.aws_key_id(random.Random(2))
    lines = [json.dumps(s.cloudtrail_record(key, s.T0)), "{not json", json.dumps({"eventVersion": "1.08"}),
             json.dumps(s.cloudtrail_record(key, s.T0, "ListBuckets"))]
    path = tmp_path / "trail.jsonl"
    path.write_text("\n".join(lines) + "\n")
    events, ctx = parse_file(path, "cloudtrail")
    assert [e.action for e in events] == ["s3:GetObject", "s3:ListBuckets"]
    assert [e.line for e in events] == [1, 4]
    assert ctx.malformed == 2 and [ln for ln, _ in ctx.examples] == [2, 3]


def test_github_audit_export_json_array_pretty(tmp_path: Path) -> None:
    token = s.github_token(3)
    recs = [s.github_audit_record(token, s.T0 + timedelta(hours=i), doc=i) for i in range(3)]
    recs.append(s.github_audit_record(token, s.T0, "repo.destroy", ip=None, doc=9))
    web = s.github_audit_record(token, s.T0, doc=10)
    del web["hashed_token"], web["token_id"]
    recs.append(web)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(recs, indent=2))
    events, ctx = parse_file(path)
    assert len(events) == 4 and ctx.unattributed == 1
    assert all(e.ident_kind == GITHUB_HASHED and e.ident == github_hashed_token(token.encode()) for e in events)
    assert events[0].at == s.T0.timestamp() and events[0].scopes == "repo,workflow"
    assert events[3].action == "repo.destroy" and events[3].ip is None


def test_github_audit_json_lines(tmp_path: Path) -> None:
    token = s.github_token(4)
    path = tmp_path / "audit.jsonl"
    path.write_text("\n".join(json.dumps(s.github_audit_record(token, s.T0, doc=i)) for i in range(5)) + "\n\n")
    events, ctx = parse_file(path)
    assert len(events) == 5 and ctx.malformed == 0
    assert parse_file(path)[0][0].ref == "doc000000xQ"


def test_openbao_audit_responses_only(tmp_path: Path) -> None:
    rng = random.Random(5)
    client, acc = s.hmac_like(rng), s.hmac_like(rng)
    entries = []
    for i in range(3):
        at = s.T0 + timedelta(seconds=i)
        entries += [s.openbao_entry("request", client, acc, at), s.openbao_entry("response", client, acc, at)]
    entries.append(s.openbao_entry("response", client, acc, s.T0, "secret/data/other", error="1 error occurred:\n\t* "
                                   "permission denied\n\n"))
    path = tmp_path / "audit.log"
    path.write_text("\n".join(json.dumps(e) for e in entries) + "\n")
    events, _ctx = parse_file(path)
    assert len(events) == 4 and {e.ident_kind for e in events} == {VAULT_HMAC}
    assert events[0].action == "read secret/data/app" and events[-1].status == 403
    assert events[0].scopes == "default,app"
    plain = s.openbao_entry("response", client, "a" * 24, s.T0)
    path.write_text(json.dumps(plain) + "\n")
    assert parse_file(path)[0][0].ident_kind == VAULT_ACCESSOR


def test_nginx_combined_fingerprints_and_drops_the_token(tmp_path: Path) -> None:
    token = s.github_token(6)
    at = datetime(2025, 3, 3, 12, 0, tzinfo=s.zone(-7))
    lines = [s.combined_line("81.2.69.160", at, "GET /repos/acme/api/issues/42?page=2 HTTP/1.1", 200, "curl/8.5.0",
                             f"Bearer {token}"),
             s.combined_line("81.2.69.160", at, "POST /login HTTP/1.1", 200, "curl/8.5.0"),
             "garbage line", s.combined_line("81.2.69.160", at, "GET /x HTTP/1.1", 403, "curl/8.5.0",
                                             s.basic_auth("x-access-token", token))]
    path = tmp_path / "access.log"
    path.write_text("\n".join(lines) + "\n")
    events, ctx = parse_file(path)
    want = FP.token_id(token.encode())
    assert [e.ident for e in events] == [want, want] and events[0].ident_kind == TOKEN_ID
    assert events[0].at == (at.astimezone(UTC)).timestamp()  # -0700 normalised to UTC
    assert events[0].action == "GET /repos/acme/api/issues/:id" and events[1].status == 403
    assert events[0].preview and token not in events[0].preview
    assert ctx.malformed == 1 and ctx.unattributed == 1
    assert token not in repr(events) and token not in repr(ctx)


def test_token_in_url_is_a_storage_violation(tmp_path: Path) -> None:
    token = s.github_token(7)
    at = s.T0
    line = s.combined_line("81.2.69.160", at, f"GET /api/v1/items?access_token={token}&x=1 HTTP/1.1", 200, "curl/8")
    path = tmp_path / "access.log"
    path.write_text(line + "\n" + line + "\n")
    events, ctx = parse_file(path)
    assert len(events) == 2 and events[0].ident == FP.token_id(token.encode())
    assert len(ctx.violations) == 1 and ctx.violations[0].kind == "token-in-url"
    assert ctx.violations[0].where.endswith(":1") and token not in repr(ctx.violations)
    assert "?" not in (events[0].action or "")


def test_nginx_json_access_log(tmp_path: Path) -> None:
    token = s.github_token(8)
    lines = [s.nginx_json_line("2001:db8::7", datetime(2025, 3, 3, 23, 30, tzinfo=s.zone(5)), "DELETE", "/v2/keys/77",
                               401, "python-requests/2.31", f"token {token}"), "[1, 2]", "{bad"]
    path = tmp_path / "access.json"
    path.write_text("\n".join(lines) + "\n")
    events, ctx = parse_file(path, "nginx")
    assert len(events) == 1 and events[0].ident == FP.token_id(token.encode())
    assert events[0].at == datetime(2025, 3, 3, 18, 30, tzinfo=UTC).timestamp()
    assert events[0].action == "DELETE /v2/keys/:id" and events[0].status == 401 and events[0].ip == "2001:db8::7"
    assert ctx.malformed == 2


def test_generic_jsonl_mapping_and_raw_token(tmp_path: Path) -> None:
    token = s.github_token(9)
    path = tmp_path / "app.jsonl"
    path.write_text("\n".join([
        json.dumps({"meta": {"when": "2025-03-03T10:00:00+01:00"}, "auth": {"key": "svc-billing"},
                    "client": "81.2.69.1", "op": "charge.create", "code": 201}),
        json.dumps({"meta": {"when": 1741000000123}, "auth": {"raw": f"Bearer {token}"}, "client": "81.2.69.1",
                    "op": "charge.list", "code": "200"}),
        json.dumps({"meta": {"when": "yesterday"}, "auth": {"key": "svc-billing"}}),
    ]) + "\n")
    opts = ParserOptions(FP, mapping={"at": "meta.when", "external_id": "auth.key", "token": "auth.raw",
                                      "ip": "client", "action": "op", "status": "code"}, provider="stripe")
    events, ctx = parse_file(path, "jsonl", opts)
    assert [e.ident_kind for e in events] == ["external_id", TOKEN_ID]
    assert events[0].at == datetime(2025, 3, 3, 9, 0, tzinfo=UTC).timestamp() and events[0].status == 201
    assert events[1].at == pytest.approx(1741000000.123) and events[1].ident == FP.token_id(token.encode())
    assert events[1].status == 200 and events[0].provider == "stripe"
    assert ctx.malformed == 1


def test_generic_jsonl_fast_path(tmp_path: Path) -> None:
    tid = "ab" * 32
    path = tmp_path / "e.jsonl"
    rows = [{"ts": 1741000000.5, "token_id": tid, "ip": "81.2.69.1", "user_agent": "x/1", "action": "GET /a?key=s3cr3t",
             "status": 200},
            {"ts": "2025-03-03T09:00:00Z", "token_id": tid, "ip": None, "action": 7},
            {"ts": 1741000000.5, "token_id": tid, "status": "oops"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    events, ctx = parse_file(path)
    assert len(events) == 2 and events[1].action == "7" and events[1].ip is None and events[1].status == 200
    assert events[0].action == "GET /a"  # a query string may carry a secret: never kept
    assert ctx.malformed == 1


def test_otel_log_records(tmp_path: Path) -> None:
    token = s.github_token(10)
    path = tmp_path / "otel.jsonl"
    path.write_text(s.otel_line(f"Bearer {token}", s.T0, "POST", "/v1/orders/123", 500) + "\n")
    events, _ctx = parse_file(path)
    assert len(events) == 1 and events[0].ident == FP.token_id(token.encode())
    assert events[0].action == "POST /v1/orders/:id" and events[0].status == 500 and events[0].at == s.T0.timestamp()


def test_auto_detect_each_format() -> None:
    rng = random.Random(11)
    token = s.github_token(11)
    samples = {
        "cloudtrail": json.dumps({"Records": [s.cloudtrail_record(s.aws_key_id(rng), s.T0)]}),
        "github-audit": json.dumps(s.github_audit_record(token, s.T0)),
        "openbao-audit": json.dumps(s.openbao_entry("request", s.hmac_like(rng), s.hmac_like(rng), s.T0)),
        "otel": s.otel_line("Bearer x", s.T0),
        "nginx-json": s.nginx_json_line("1.2.3.4", s.T0, "GET", "/", 200, "curl/8"),
        "jsonl": json.dumps({"ts": 1, "token_id": "ab" * 32}),
        "nginx": s.combined_line("1.2.3.4", s.T0, "GET / HTTP/1.1", 200, "curl/8"),
    }
    assert set(samples) == set(PARSERS)
    for name, line in samples.items():
        parser = choose("auto", line.encode(), OPTS)
        assert parser is not None and parser.name == name


def test_times_in_any_zone_are_utc() -> None:
    want = datetime(2025, 3, 3, 9, 0, tzinfo=UTC).timestamp()
    for value in ("2025-03-03T09:00:00Z", "2025-03-03T10:00:00+01:00", "2025-03-03T04:00:00-0500",
                  "2025-03-03 09:00:00", "Mon, 03 Mar 2025 09:00:00 GMT", want, want * 1000, int(want * 1e9)):
        assert any_seconds(value) == pytest.approx(want), value
    assert parse_since("2h", datetime(2025, 3, 3, 11, 0, tzinfo=UTC)) == want


def test_route_normalises_ids() -> None:
    assert route("/repos/acme/api/pulls/123/files?x=1") == "/repos/acme/api/pulls/:id/files"
    assert route("/v1/objects/5f0c6e5a-8f7e-4d55-9a66-0e3f8c1d2b4a") == "/v1/objects/:id"


def test_gzip_json_lines_and_empty_lines(tmp_path: Path) -> None:
    tid = "cd" * 32
    body = "\n".join(json.dumps({"ts": 1741000000 + i, "token_id": tid}) for i in range(4))
    path = tmp_path / "e.jsonl.gz"
    path.write_bytes(gzip.compress(("\n\n" + body.replace("\n", "\n\n", 1) + "\n").encode()))
    events, ctx = parse_file(path)
    assert [e.line for e in events] == [3, 5, 6, 7] and ctx.malformed == 0


def test_json_lines_parsers_of_one_mapping_share_one_typed_decoder() -> None:
    """A tree of JSON lines makes a parser per file: the struct type and decoder (~7 KB) are made once per
    mapping, not per file; another mapping has its own, and a mapping whose fields share a key has none."""
    made = [PARSERS["jsonl"](ParserOptions()) for _ in range(3)]
    assert made[0].typed is not None and all(p.typed is made[0].typed for p in made)
    other = PARSERS["jsonl"](ParserOptions(mapping={"at": "when"}))
    assert other.typed is not None and other.typed is not made[0].typed
    assert PARSERS["jsonl"](ParserOptions(mapping={"ip": "ts"})).typed is None
