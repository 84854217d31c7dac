"""Lines cut with their newline kept (JSON lines: cut at memchr speed) are the lines cut without it, newline
added: same numbers, same blank lines dropped, same offsets; and the JSON lines parser reads both alike."""

from __future__ import annotations

import io
import json
import random

import pytest

from tests import usage_samples as s
from tests.usage.test_usage_parallel import _odd_line
from tokenward.identity import Fingerprinter
from tokenward.usage import logfiles
from tokenward.usage.events import ParseContext
from tokenward.usage.parsers import ParserOptions
from tokenward.usage.parsers.jsonl import JsonLinesParser

PIECES = [b'{"ts": 1, "token_id": "ab1"}', b"", b"\r", b"   ", b"\t\r", b"x" * 300, b'{"a": "\xc3\xa9"}', b"y"]


def _content(rng: random.Random) -> bytes:
    """Lines of every kind (blank, whitespace, long, CR LF), ending with or without a newline."""
    lines = [rng.choice(PIECES) + (b"\r" if rng.random() < 0.1 else b"") for _ in range(rng.randrange(1, 120))]
    return b"\n".join(lines) + (b"\n" if rng.random() < 0.5 else b"")


def _batches(data: bytes, newlines: bool, offset: int, final: bool, limit: int | None) -> list[tuple[object, ...]]:
    stream = io.BytesIO(data)
    stream.seek(offset)
    out = []
    for b in logfiles.batches(stream, offset, 7, final, limit, newlines):
        lines = [ln[:-1] if newlines and ln.endswith(b"\n") else ln for ln in b.lines]
        out.append((lines, b.first_line, b.end, b.next_line))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_lines_kept_with_their_newline_are_the_lines_cut_without_it(monkeypatch: pytest.MonkeyPatch,
                                                                      seed: int) -> None:
    rng = random.Random(seed)
    monkeypatch.setattr(logfiles, "CHUNK", rng.choice([1, 7, 64, 1 << 20]))  # lines across chunks, or not
    data = _content(rng)
    offset = data.find(b"\n", rng.randrange(len(data))) + 1 if rng.random() < 0.3 else 0
    final, limit = rng.random() < 0.7, (rng.randrange(offset, len(data) + 1) if rng.random() < 0.3 else None)
    assert _batches(data, True, offset, final, limit) == _batches(data, False, offset, final, limit)


@pytest.mark.parametrize("seed", range(3))
def test_the_json_lines_parser_reads_a_line_with_its_newline_as_without_it(seed: int) -> None:
    rng = random.Random(seed)
    lines = [_odd_line(rng) for _ in range(2000)]
    lines += [json.dumps({"ts": "2025-03-03T10:11:12.345Z", "aws_key_id": f"AKIA{i:016d}"}).encode() for i in range(50)]
    options = ParserOptions(Fingerprinter(b"k" * 32))
    results = []
    for batch in (lines, [ln + (b"\r\n" if i % 7 == 0 else b"\n") for i, ln in enumerate(lines)]):
        ctx = ParseContext("x")
        results.append((JsonLinesParser(options).parse(batch, 1, ctx), ctx.malformed, ctx.unattributed,
                        ctx.examples))
    assert results[0] == results[1] and results[0][1] > 0 and len(results[0][0]) > 1000


def _json_lines(name: str, rng: random.Random) -> list[bytes]:
    """Lines of the format, some damaged (cut short, a broken byte, not JSON)."""
    at = s.T0
    if name == "cloudtrail":
        recs = [json.dumps(s.cloudtrail_record(s.aws_key_id(rng), at)) for _ in range(20)]
        recs.append(json.dumps({"Records": [s.cloudtrail_record(s.aws_key_id(rng), at) for _ in range(3)]}))
    elif name == "github-audit":
        recs = [json.dumps(s.github_audit_record(s.github_token(i), at, doc=i)) for i in range(20)]
    elif name == "openbao-audit":
        recs = [json.dumps(s.openbao_entry(k, s.hmac_like(rng), s.hmac_like(rng), at)) for k in ("request", "response")
                for _ in range(10)]
    else:
        recs = [s.otel_line(f"Bearer ghp_{rng.getrandbits(160):040x}", at) for _ in range(20)]
    lines = [r.encode() for r in recs]
    return [*lines, lines[0][:-9], lines[1].replace(b'"', b'"\xff', 1), b"not json", b"[]", b"{}", b'  {"a": 1}  ']


@pytest.mark.parametrize("name", ["cloudtrail", "github-audit", "openbao-audit", "otel"])
def test_every_parser_that_cuts_lines_with_their_newline_reads_them_as_without_it(name: str) -> None:
    from tokenward.usage.parsers import PARSERS

    lines = _json_lines(name, random.Random(9))
    options = ParserOptions(Fingerprinter(b"k" * 32))
    results = []
    for batch in (lines, [ln + b"\n" for ln in lines[:-1]] + [lines[-1] + b"\r\n"]):
        ctx = ParseContext("x")
        parser = PARSERS[name](options)
        assert getattr(parser, "newlines", False)
        results.append((parser.parse(batch, 1, ctx), ctx.malformed, ctx.unattributed, ctx.examples, ctx.violations))
    assert results[0] == results[1] and results[0][0] and results[0][1] > 0


ALL_PARSERS = ["cloudtrail", "github-audit", "openbao-audit", "otel", "nginx-json", "jsonl", "nginx"]


@pytest.mark.parametrize("name", ALL_PARSERS)
def test_a_line_of_whitespace_is_blank_for_every_parser(name: str) -> None:
    """Whether or not an empty line is cut in the same read, a line of spaces or tabs is no malformed record
    (it was one unless an empty line fell in the same 1 MB read, which made the reader drop it)."""
    from tokenward.usage.parsers import PARSERS

    for lines in ([b"   ", b"\t", b" \t \r"], [b"   \n", b"\t\r\n"]):
        ctx = ParseContext("x")
        assert PARSERS[name](ParserOptions(Fingerprinter(b"k" * 32))).parse(lines, 1, ctx) == []
        assert (ctx.malformed, ctx.examples) == (0, []), name
    ctx = ParseContext("x")
    PARSERS[name](ParserOptions(Fingerprinter(b"k" * 32))).parse([b"{not a record"], 1, ctx)
    assert ctx.malformed == 1  # what is not blank still counts
