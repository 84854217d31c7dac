"""A parallel worker deals a CloudTrail file's events while it decodes them: what the sharded parsers give.

Also: the first line of a log's head, found at memchr speed, is what splitting the head gives.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

import pytest

from tests import usage_samples as s
from tests.usage.test_usage_fastpath import general, varied
from tokenward.usage.events import ParseContext, UsageEvent
from tokenward.usage.logfiles import first_line, is_document
from tokenward.usage.parallel import _split
from tokenward.usage.parsers import ParserOptions
from tokenward.usage.parsers.cloudtrail import CloudTrailParser


def _lines(seed: int) -> list[bytes]:
    """Documents of many keys (each with a few agents, so a key's agent changes between its records), every
    shape varied() makes, and lines only the general decoder reads or that are not JSON."""
    rng = random.Random(seed)
    keys = [s.aws_key_id(rng) for _ in range(12)]
    agents = ["aws-cli/2.15.0 Python/3.11.6", "Boto3/1.34.0 md/Botocore#1.34.0", "", "terraform-provider-aws/5.31.0"]
    recs: list[dict[str, Any]] = []
    for i in range(400):
        rec = s.cloudtrail_record(rng.choice(keys), s.T0 + timedelta(seconds=rng.randrange(0, 7200)), event_id=f"e{i}")
        rec["userAgent"] = rng.choice(agents)
        recs.append(rec)
    return [json.dumps({"Records": recs[:200]}).encode(), json.dumps({"Records": varied(rng)}).encode(),
            json.dumps({"Records": recs[200:]}).encode(), *(json.dumps(r).encode() for r in varied(rng)),
            b"{not json", b'{"Records": null}']


@pytest.mark.parametrize(("seed", "n"), [(1, 2), (2, 3), (3, 4)])
def test_dealt_shares_are_what_each_sharded_parser_keeps(seed: int, n: int) -> None:
    lines = _lines(seed)
    whole_ctx = ParseContext("x")
    whole = CloudTrailParser().parse(lines, 1, whole_ctx)
    ctx = ParseContext("x")
    shares = CloudTrailParser().parse_shares(lines, 1, ctx, n)  # the same whichever worker decodes
    for j, share in enumerate(shares):
        kept = CloudTrailParser(ParserOptions(shard=(j, n))).parse(lines, 1, ParseContext("x"))
        assert [UsageEvent(*row) for row in share] == kept
        assert all(type(ev) is tuple for ev in share)  # rows, the decoding worker's too: Monitor.ingest takes rows
    assert sum(map(len, shares)) == len(whole) == len(general(lines)[0]) and all(shares)
    assert (ctx.malformed, ctx.unattributed, ctx.examples) == (
        whole_ctx.malformed, whole_ctx.unattributed, whole_ctx.examples)


def test_a_parser_that_cannot_deal_is_split_after_parsing() -> None:
    events = CloudTrailParser().parse(_lines(5), 1, ParseContext("x"))
    shares = _split(events, 1, 3)
    assert [UsageEvent(*row) for share in shares for row in share] == sorted(
        events, key=lambda ev: ord(ev.ident[-1]) % 3)  # sorted() keeps the order within each share
    assert all(type(ev) is (UsageEvent if j == 1 else tuple) for j, share in enumerate(shares) for ev in share)


def test_the_first_line_is_the_first_non_blank_item_of_a_split() -> None:
    rng = random.Random(7)
    pieces = [b"\n", b" ", b"\r", b"\t", b"\x0b", b"\x0c", b"\x1c", b"a", b"{", b"[1]", b"\n\n", b""]
    for _ in range(20_000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 14)))
        assert first_line(data) == next((ln for ln in data.split(b"\n") if ln.strip()), b"")
        assert is_document(data) == _was_document(data)


def _was_document(first: bytes) -> bool:
    """is_document as it was, splitting the head."""
    text = first.lstrip()
    if not text.startswith((b"{", b"[")):
        return False
    try:
        json.loads(text.split(b"\n", 1)[0])
    except ValueError:
        return True
    return False


def test_a_one_line_document_head_is_its_own_first_line() -> None:
    head = json.dumps({"Records": [{"eventSource": "s3.amazonaws.com"}] * 3000}).encode()[: 1 << 16]
    assert first_line(b"\n \n" + head) == head and is_document(head)
