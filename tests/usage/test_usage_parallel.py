"""Parallel monitoring and its fast paths give what one process gives: files decoded once and dealt to the
workers, each token's events learned by one worker in log order, one-step gzip inflate, lazy start-up."""

from __future__ import annotations

import gzip
import json
import os
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import usage_samples as s
from tokenward.errors import UsageError
from tokenward.store import Inventory
from tokenward.store.usage import UsageState
from tokenward.usage import logfiles, parallel
from tokenward.usage.alerts import AlertManager
from tokenward.usage.identity import InventoryDirectory, Joiner
from tokenward.usage.monitor import Monitor
from tokenward.usage.parallel import monitor_parallel

pytest_plugins = ["tests.conftest_pg"]

# -- one-step inflate of a gzip document ----------------------------------------------------------------


def _document(path: Path) -> bytes:
    with logfiles.open_log(str(path)) as fh:
        return logfiles.document(fh).lines[0]


def test_a_single_member_is_inflated_in_one_step(tmp_path: Path) -> None:
    data = json.dumps({"Records": [{"eventTime": "2025-03-03T00:00:00Z"}] * 5000}).encode()
    (tmp_path / "one.gz").write_bytes(gzip.compress(data))
    assert logfiles._inflate_all(gzip.compress(data)) == data
    assert _document(tmp_path / "one.gz") == data


@pytest.mark.parametrize("shape", ["two members", "zero padding", "the same file twice", "empty member after"])
def test_what_one_step_cannot_vouch_for_is_read_piecewise(tmp_path: Path, shape: str) -> None:
    a, b = b'{"Records": [' + b'{"x": 1},' * 3000, b'{"x": 2}]}'
    packed = {"two members": gzip.compress(a) + gzip.compress(b),
              "zero padding": gzip.compress(a + b) + b"\0" * 64,
              "the same file twice": gzip.compress(a + b, mtime=0) * 2,
              "empty member after": gzip.compress(a + b) + gzip.compress(b"")}[shape]
    expected = gzip.decompress(packed)
    (tmp_path / "log.gz").write_bytes(packed)
    assert logfiles._inflate_all(packed) is None
    assert _document(tmp_path / "log.gz") == expected


def test_a_trailer_claiming_a_huge_size_allocates_nothing() -> None:
    packed = gzip.compress(b"x" * 1000)
    assert logfiles._inflate_all(packed[:-4] + (3 << 30).to_bytes(4, "little")) is None


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_a_damaged_document_fails_as_the_piecewise_reader_fails(tmp_path: Path, damage: str) -> None:
    packed = gzip.compress(os.urandom(1 << 16).hex().encode())
    bad = packed[: len(packed) // 2] if damage == "truncated" else packed[:-8] + b"\x01\x02\x03\x04" + packed[-4:]
    (tmp_path / "bad.gz").write_bytes(bad)
    with pytest.raises((EOFError, gzip.BadGzipFile)) as fast:
        _document(tmp_path / "bad.gz")
    with pytest.raises((EOFError, gzip.BadGzipFile)) as slow, logfiles.open_log(str(tmp_path / "bad.gz")) as fh:
        fh.read(logfiles.MAX_DOCUMENT)
    assert type(fast.value) is type(slow.value)


# -- workers: files dealt out, tokens split -------------------------------------------------------------


def _logs(root: Path) -> None:
    """CloudTrail for six keys over three weeks (two stolen at the end), a JSON lines log between the trail
    files, a copy of one trail file and a damaged one."""
    rng = random.Random(31)
    keys = [s.aws_key_id(rng) for _ in range(6)]
    recs = [s.cloudtrail_record(keys[i % 6], s.T0 + timedelta(hours=i // 6, minutes=i % 6), event_id=f"e{i}")
            for i in range(6 * 24 * 21)]
    for n, k in enumerate((1, 4)):
        recs.append(s.cloudtrail_record(keys[k], s.T0 + timedelta(days=21, hours=3 + n), "ListBuckets",
                                        ip="5.45.207.1", agent="aws-cli/2.15 Linux/6.6.9-kali1-amd64"))
    trail = root / "a-trail"
    for day in range(7):
        s.cloudtrail_file(trail / f"2025/03/{day:02d}.json.gz", recs[day::7])
    ids = [f"{rng.getrandbits(256):064x}" for _ in range(5)]
    with (trail / "2025/03/03-requests.jsonl").open("w") as fh:
        for i in range(3000):
            fh.write(json.dumps({"ts": 1741000000 + i * 60, "token_id": ids[i % 5], "ip": "81.2.69.160",
                                 "action": f"GET /v1/{i % 3}", "user_agent": "curl/8",
                                 "status": 403 if i > 2950 else 200}) + "\n")
        for i in range(5):  # malformed after a plain token id: counted once, by the worker of that token
            fh.write(f'{{"ts": {1741200000 + i}, "token_id": "{ids[i]}", "ip": broken}}\n')
    (trail / "2025/03/07-copy.json.gz").write_bytes((trail / "2025/03/02.json.gz").read_bytes())
    packed = gzip.compress(json.dumps({"Records": recs[:40]}).encode())
    (trail / "2025/03/08-damaged.json.gz").write_bytes(packed[:-50])


@pytest.mark.parametrize(("workers", "readers"), [(2, 1), (2, 0), (2, 2), (3, 3)])
def test_workers_give_what_one_process_gives(tmp_path: Path, workers: int, readers: int,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "_readers", lambda n: readers)  # workers that read ahead of the handoff
    _logs(tmp_path / "logs")
    one = s.monitor_run(tmp_path / "logs", tmp_path / "one.db", 1)
    many = s.monitor_run(tmp_path / "logs", tmp_path / f"{workers}.db", workers)
    assert many == one
    assert one[0][1] == 5  # the malformed JSON lines, each counted once
    _, raised, _, files = one
    assert {d for _, _, d, _, _ in raised} >= {"bad-agent", "new-country"}
    assert [f[1] for f in files].count("jsonl") == 1 and files[-2][2] == 0 and "truncated" in files[-1][5]


def test_a_worker_that_dies_mid_run_fails_the_run_instead_of_hanging(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _logs(tmp_path / "logs")
    real = parallel._Worker._shares

    def dies_decoding_the_second_file(self: parallel._Worker, op: Any) -> parallel.Shares:
        if op.path.endswith("01.json.gz"):
            os._exit(3)  # the other worker waits for this file's share: it must see the pipe close
        return real(self, op)

    monkeypatch.setattr(parallel._Worker, "_shares", dies_decoding_the_second_file)
    with Inventory.open(f"sqlite:///{tmp_path / 'i.db'}") as inv:
        m = Monitor(Joiner(InventoryDirectory(inv)), AlertManager([]), UsageState(inv.engine))
        with pytest.raises(UsageError, match="worker failed"):
            monitor_parallel(m, [str(tmp_path / "logs")], 2)


def test_events_are_dealt_by_the_last_character_of_their_identifier() -> None:
    from tokenward.usage.events import AWS_KEY_ID, UsageEvent
    from tokenward.usage.monitor import in_shard

    events = [UsageEvent(0.0, AWS_KEY_ID, ident, "aws", None, None, None, 200, 1) for ident in ("AKIA1", "AKIA2", "")]
    parts = parallel._split(events, 0, 3)
    assert all(in_shard(ev[2], (k, 3)) for k, part in enumerate(parts) for ev in part)
    assert sum(map(len, parts)) == 3
    # worker 0 keeps its own as events; the others' are plain tuples, for the spool
    assert all(type(ev) is (UsageEvent if k == 0 else tuple) for k, part in enumerate(parts) for ev in part)


# -- start-up -------------------------------------------------------------------------------------------


def test_the_lazily_compiled_user_agent_expressions_name_the_same_families() -> None:
    import ua_parser

    from tokenward.usage.agents import _parser

    agents = ["aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0 exe/x86_64", "Boto3/1.34.0 md/Botocore#1.34.0",
              "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
              "curl/8.1.2", "python-requests/2.31.0", "sqlmap/1.7#stable", "Go-http-client/1.1", "okhttp/4.9.3",
              "terraform-provider-aws/5.31.0 aws-sdk-go/1.49.13 (go1.21.5; linux; amd64)", "", "x"]
    for text in agents:
        assert _parser().parse_user_agent(text) == ua_parser.parse_user_agent(text)


def test_the_monitor_knows_every_remote_scheme_without_importing_the_object_store_clients() -> None:
    from tokenward.cli.monitor import REMOTE
    from tokenward.sources.live.remote_logs import REMOTE_SCHEMES

    assert set(REMOTE_SCHEMES) == set(REMOTE)


# -- JSON lines: the typed decoder agrees with the general one -----------------------------------------

ODD_VALUES: list[Any] = ["", "x", "GET /a?token=abc", 200, 403, "403", None, 1.5, True, 2**63, -(2**63), 2**64 + 1,
                         [1], {"a": 1}, "é", "2025-03-03T10:11:12.345Z", "2025-03-03T10:11:12Z", 1741000000123,
                         "Mon, 03 Mar 2025 10:11:12 GMT", "2025-03-03T10:11:1x.5Z"]


def _odd_line(rng: random.Random) -> bytes:
    """A JSON lines record, often with an odd value, an extra key or a broken byte."""
    rec: dict[str, Any] = {"ts": "2025-03-03T10:11:12.345Z", "token_id": f"{rng.getrandbits(64):016x}",
                           "ip": "81.2.69.160", "user_agent": "curl/8", "action": "GET /v1", "status": 200, "id": "r1"}
    for _ in range(rng.randrange(3)):
        field = rng.choice([*rec, "aws_key_id", "scopes", "provider", "extra", "time", "token"])
        if rng.random() < 0.2:
            rec.pop(field, None)
        else:
            rec[field] = rng.choice(ODD_VALUES)
    line = json.dumps(rec, ensure_ascii=rng.random() < 0.5).encode()
    damage = rng.random()
    if damage < 0.05:
        line = line.replace(b'"ip"', b'"ip\xff"')
    elif damage < 0.1:
        line = line[:-1] + b', "n": 1e400}'
    elif damage < 0.12:
        line = line[: len(line) // 2]
    return line


@pytest.mark.parametrize("seed", range(4))
def test_typed_json_lines_give_what_the_general_decoder_gives(seed: int) -> None:
    from tokenward.identity import Fingerprinter
    from tokenward.usage.events import ParseContext
    from tokenward.usage.parsers import ParserOptions
    from tokenward.usage.parsers.jsonl import JsonLinesParser

    rng = random.Random(seed)
    lines = [_odd_line(rng) for _ in range(3000)]
    options = ParserOptions(Fingerprinter(b"k" * 32))
    typed, general = JsonLinesParser(options), JsonLinesParser(options)
    general.typed = None
    results = []
    for parser in (typed, general):
        ctx = ParseContext("x")
        results.append((parser.parse(lines, 1, ctx), ctx.malformed, ctx.unattributed, ctx.examples))
    assert results[0] == results[1] and results[0][1] > 0 and typed.typed is not None
    contexts = [ParseContext("x") for _ in range(3)]
    parts = [JsonLinesParser(ParserOptions(options.fingerprinter, shard=(k, 3))).parse(lines, 1, contexts[k])
             for k in range(3)]
    assert sorted((ev for part in parts for ev in part), key=repr) == sorted(results[0][0], key=repr)
    # each malformed line is counted by one worker: the counts add up to one process's, examples too
    assert sum(c.malformed for c in contexts) == results[0][1] and all(c.split for c in contexts)
    assert sorted(e for c in contexts for e in c.examples)[:20] == results[0][3]


@pytest.mark.parametrize("line", [
    b'{"ts": 1, "token_id": "ab1"}', b'{"ts":1,"token_id" :\t"ab2", "aws_key_id": "AKIA1"}',
    b'{"x": "token_id", "y": "ab1", "aws_key_id": "AKIA2"}', b'{"token_id": "ab1", "token_id": "ab2"}',
    b'{"meta": {"token_id": "ab1"}, "key_id": "k2"}', b'{"token_id": "ab1", "ts": broken',
    b'{"ts": 1, "aws_key_id": "AKIA1"}', b'{"token_id": null, "aws_key_id": "AKIA1"}',
    b'{"token_id": "", "aws_key_id": "AKIA1"}', b'{"token_id": 7, "aws_key_id": "AKIA1"}',
    b'{"aws_key_id": "AKIA1", "aws_key_id": "AKIA2"}', b'{"aws_key_id": "AKIA\\u0031"}',
    b'{"aws_key_id": "AKIA\xc3\xa9"}', b'{"aws_key_id": "AKIA1", "ts": broken', b'[{"aws_key_id": "AKIA1"}]',
    b'{"ts": 1, "token": "Bearer abc"}', b'{"ts": 1}', b"not json"])
@pytest.mark.parametrize("workers", [2, 3])
def test_each_line_is_kept_and_counted_by_one_worker(line: bytes, workers: int) -> None:
    from tokenward.identity import Fingerprinter
    from tokenward.usage.events import ParseContext
    from tokenward.usage.parsers import ParserOptions
    from tokenward.usage.parsers.jsonl import JsonLinesParser

    options = ParserOptions(Fingerprinter(b"k" * 32))
    ctx = ParseContext()
    whole = JsonLinesParser(options).parse([line], 1, ctx)
    contexts = [ParseContext() for _ in range(workers)]
    parts = [JsonLinesParser(ParserOptions(options.fingerprinter, shard=(k, workers))).parse([line], 1, contexts[k])
             for k in range(workers)]
    assert sorted((ev for part in parts for ev in part), key=repr) == sorted(whole, key=repr)
    assert sum(c.malformed for c in contexts) == ctx.malformed
    assert all(c.unattributed == ctx.unattributed for c in contexts)  # every worker counts these: one is kept


def test_a_log_whose_lines_the_typed_decoder_refuses_stops_trying_it() -> None:
    from tokenward.usage.events import ParseContext
    from tokenward.usage.parsers.jsonl import JsonLinesParser

    parser = JsonLinesParser()
    lines = [json.dumps({"ts": 1741000000 + i, "token_id": "ab", "host": "h"}).encode() for i in range(500)]
    assert len(parser.parse(lines, 1, ParseContext())) == 500 and parser.typed is None


def test_checkpoints_move_many_files_at_once_on_both_backends(tmp_path: Path, db_url: str) -> None:
    _logs(tmp_path / "logs")
    with Inventory.open(db_url) as inv:
        state = UsageState(inv.engine)
        m = Monitor(Joiner(InventoryDirectory(inv), state.idents(), state.token_flags()), AlertManager([]), state)
        summary = monitor_parallel(m, [str(tmp_path / "logs")], 2)
        again = Monitor(Joiner(InventoryDirectory(inv)), AlertManager([]), UsageState(inv.engine))
        assert monitor_parallel(again, [str(tmp_path / "logs")], 2).events == 0 < summary.events
        stored = UsageState(inv.engine).profiles()
    assert not m.profiles, "the parent decodes no baseline: the workers' come back as the text to store"
    assert {t: d["events"] for t, d in stored.items()} == {t: b.events for t, b in m.learned.items()}
