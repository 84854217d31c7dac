"""The monitor's fast paths give what the general ones give: typed CloudTrail decoding, ISA-L gzip, sharding."""

from __future__ import annotations

import gzip
import io
import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests import usage_samples as s
from tokenward.cli.main import app
from tokenward.store import Inventory
from tokenward.store.usage import UsageState
from tokenward.usage import logfiles
from tokenward.usage.alerts import AlertManager
from tokenward.usage.events import ParseContext, UsageEvent
from tokenward.usage.identity import InventoryDirectory, Joiner
from tokenward.usage.monitor import Monitor
from tokenward.usage.parallel import monitor_parallel
from tokenward.usage.parsers import ParserOptions
from tokenward.usage.parsers.cloudtrail import CloudTrailParser, _event, _unwrap
from tokenward.usage.parsers.interface import json_records

runner = CliRunner()


def general(lines: list[bytes]) -> tuple[list[UsageEvent], ParseContext]:
    """What the general (orjson, dict) decoder makes of lines."""
    ctx = ParseContext("x")
    return [ev for i, rec in json_records(lines, 1, ctx, _unwrap) if (ev := _event(rec, i, ctx))], ctx


def varied(rng: random.Random) -> list[dict[str, Any]]:
    """Records with every shape the fast path handles: no key, service addresses, errors, empty fields."""
    key = s.aws_key_id(rng)
    recs = [s.cloudtrail_record(key, s.T0 + timedelta(seconds=i), event_id=f"e{i}") for i in range(6)]
    recs[1]["userIdentity"] = {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}
    recs[2]["sourceIPAddress"], recs[2]["userAgent"] = "AWS Internal", ""
    recs[3]["errorCode"] = "Client.UnauthorizedOperation"
    recs[4]["sourceIPAddress"], recs[4]["eventName"] = "lambda.amazonaws.com", "Invoke"
    del recs[5]["eventSource"]
    recs.append({**s.cloudtrail_record(key, s.T0, event_id="no-name"), "eventName": None})  # general decoder
    del recs[-2]["userIdentity"]
    return recs


def test_typed_decoding_matches_the_general_decoder() -> None:
    recs = varied(random.Random(4))
    lines = [json.dumps({"Records": recs[:-1]}).encode(), json.dumps({"Records": recs}).encode(),
             *(json.dumps(r).encode() for r in recs), b"{not json", b"[1, 2]", b'{"Records": null}']
    ctx = ParseContext("x")
    fast = CloudTrailParser().parse(lines, 1, ctx)
    slow, ref = general(lines)
    assert fast == slow and len(fast) > 6
    assert (ctx.malformed, ctx.unattributed, ctx.examples) == (ref.malformed, ref.unattributed, ref.examples)
    assert {e.status for e in fast} == {200, 403} and None in {e.ip for e in fast}


def test_a_malformed_record_mid_file_is_counted_and_the_rest_kept(tmp_path: Path) -> None:
    key = s.aws_key_id(random.Random(9))
    recs = [s.cloudtrail_record(key, s.T0 + timedelta(minutes=i), event_id=f"e{i}") for i in range(50)]
    recs[25]["eventTime"] = 1741000000  # a number: the typed decoder refuses the document, the general one reads it
    recs[30] = "not a record"  # type: ignore[call-overload]
    path = s.cloudtrail_file(tmp_path / "t.json.gz", recs)
    db = f"sqlite:///{tmp_path / 'inv.db'}"
    result = runner.invoke(app, ["monitor", str(path), "--db", db])
    assert result.exit_code == 0, result.output
    assert "48 events, 2 malformed lines" in result.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_gzip_truncated_mid_record_exits_3_keeping_what_was_read(tmp_path: Path, workers: str) -> None:
    key = s.aws_key_id(random.Random(10))
    recs = [s.cloudtrail_record(key, s.T0 + timedelta(minutes=i), event_id=f"e{i}") for i in range(40)]
    lines = "".join(json.dumps(r) + "\n" for r in recs).encode()  # CloudTrail as JSON lines: a record a line
    rng = random.Random(1)
    noise = "".join(rng.choice("abcdefghij0123456789") for _ in range(400_000))
    lines += b"".join(json.dumps({**recs[0], "eventID": f"n{i}", "x": noise[i::7]}).encode() + b"\n"
                      for i in range(7))
    packed = gzip.compress(lines)
    (tmp_path / "cut.json.gz").write_bytes(packed[:-4000])
    result = runner.invoke(app, ["monitor", str(tmp_path / "cut.json.gz"), "--db", f"sqlite:///{tmp_path / 'i.db'}",
                                 "--workers", workers])
    assert result.exit_code == 3, result.output
    first = result.stderr.split("\n")[0]
    assert "truncated gzip" in first and 40 <= int(first.split(", ")[1].split()[0]) < 47  # the last record is cut


def test_gzip_stream_reads_members_and_keeps_the_start_of_a_truncated_file(tmp_path: Path) -> None:
    data = b"".join(b"line %d\n" % i for i in range(300_000))
    (tmp_path / "two.gz").write_bytes(gzip.compress(data) + gzip.compress(b"second\n") + b"\0" * 8)
    with logfiles.open_log(str(tmp_path / "two.gz")) as fh:
        assert isinstance(fh, logfiles.GzipStream)
        assert fh.read(5) == b"line " and fh.read() == data[5:] + b"second\n"
    packed = gzip.compress(data)
    (tmp_path / "cut.gz").write_bytes(packed[:len(packed) * 3 // 4])
    got = io.BytesIO()
    with pytest.raises(EOFError), logfiles.open_log(str(tmp_path / "cut.gz")) as fh:
        while piece := fh.read1():
            got.write(piece)
    assert len(got.getvalue()) > len(data) // 2 and data.startswith(got.getvalue())
    (tmp_path / "zeros.gz").write_bytes(gzip.compress(b"\0" * (40 << 20), 9))  # ~1000:1
    with logfiles.open_log(str(tmp_path / "zeros.gz")) as fh:
        pieces = list(iter(fh.read1, b""))
    assert max(map(len, pieces)) <= logfiles.MAX_PIECE and sum(map(len, pieces)) == 40 << 20
    ident, head, problem = logfiles.probe(str(tmp_path / "cut.gz"), 1 << 16)
    assert ident.gzip and head == data[: 1 << 16] and problem is None and ident == logfiles.identify(ident.path)


def test_sharded_parsers_split_the_keys_between_them() -> None:
    rng = random.Random(12)
    recs = [s.cloudtrail_record(s.aws_key_id(rng), s.T0 + timedelta(seconds=i), event_id=f"e{i}") for i in range(60)]
    bad = [{**recs[0], "eventName": None}]  # the general decoder's path is sharded too
    lines = [json.dumps({"Records": recs}).encode(), json.dumps({"Records": recs + bad}).encode()]
    whole = CloudTrailParser().parse(lines, 1, ParseContext())
    parts = [CloudTrailParser(ParserOptions(shard=(k, 2))).parse(lines, 1, ParseContext()) for k in range(2)]
    assert sorted(parts[0] + parts[1]) == sorted(whole) and all(parts)
    assert all(ord(e.ident[-1]) % 2 == k for k in range(2) for e in parts[k])


def _trails(root: Path) -> None:
    """Six CloudTrail files for five keys, one stolen after three weeks; a damaged file; a copy of a file."""
    rng = random.Random(21)
    keys = [s.aws_key_id(rng) for _ in range(5)]
    recs = [s.cloudtrail_record(keys[i % 5], s.T0 + timedelta(hours=i // 5, minutes=i % 5), event_id=f"e{i}")
            for i in range(5 * 24 * 21)]
    recs.append(s.cloudtrail_record(keys[2], s.T0 + timedelta(days=21, hours=2), "ListBuckets", ip="5.45.207.1",
                                    agent="aws-cli/2.15 Linux/6.6.9-kali1-amd64", event_id="stolen"))
    recs[100]["eventTime"] = 5  # one malformed record: its document goes through the general decoder
    for day in range(6):
        s.cloudtrail_file(root / f"AWSLogs/1/CloudTrail/eu-west-1/2025/03/{day:02d}.json.gz", recs[day::6])
    packed = gzip.compress(json.dumps({"Records": recs[:50]}).encode())
    (root / "AWSLogs/1/CloudTrail/eu-west-1/2025/03/06-damaged.json.gz").write_bytes(packed[:-100])
    (root / "AWSLogs/1/CloudTrail/eu-west-1/2025/03/07-copy.json.gz").write_bytes(
        (root / "AWSLogs/1/CloudTrail/eu-west-1/2025/03/01.json.gz").read_bytes())


def test_workers_splitting_files_give_what_one_process_gives(tmp_path: Path) -> None:
    _trails(tmp_path)
    one, alerts, profiles, files = s.monitor_run(tmp_path / "AWSLogs", tmp_path / "one.db", 1)
    two, alerts2, profiles2, files2 = s.monitor_run(tmp_path / "AWSLogs", tmp_path / "two.db", 2)
    assert any(a[2] == "new-country" for a in alerts)
    assert (alerts2, profiles2, files2) == (alerts, profiles, files)
    assert two[:3] == one[:3]  # events, malformed, unmapped
    assert one[1] == 1 and "truncated gzip" in files[6][5] and files[7][2] == 0  # the copy: nothing twice



def test_a_worker_that_dies_fails_the_run_instead_of_hanging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from tokenward.errors import UsageError
    from tokenward.usage import parallel

    _trails(tmp_path)
    monkeypatch.setattr(parallel, "_shard_worker", lambda *args: os._exit(3))
    with Inventory.open(f"sqlite:///{tmp_path / 'i.db'}") as inv:
        m = Monitor(Joiner(InventoryDirectory(inv)), AlertManager([]), UsageState(inv.engine))
        with pytest.raises(UsageError, match="worker failed"):
            monitor_parallel(m, [str(tmp_path / "AWSLogs")], 2)


WHOLE_SECOND_ODDITIES = ["2025-03-03T24:00:00Z", "2025-03-03T23:59:60Z", "2025-03-03T23:59:5\u0663Z",
                         "2025-03-03T23:59:\u00b23Z", "2025-W10-1T00:00:56Z", "2025-03-03 00:00:56Z",
                         "2025-03-03T00:0Z:56Z", " 025-03-03T00:00:56Z", "2025-02-29T00:00:00Z", "2024-02-29T00:00:00Z",
                         "2025-03-03T00:00:-1Z", "2025-03-03T00:00:+1Z", "2025-03-03T00:00: 1Z", "0001-01-01T00:00:00Z",
                         "9999-12-31T23:59:59Z", "2025-13-03T00:00:00Z", "2025-03-03T00:60:00Z", "2025-03-03T00:00:56z"]


def test_whole_second_times_read_by_the_minute_are_what_the_full_parse_gives() -> None:
    import time

    from tokenward.usage.events import MINUTES, iso_seconds, whole_seconds

    rng = random.Random(5)
    stamps = [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(rng.randrange(0, 4102444800))) for _ in range(3000)]

    def outcome(read: Any, text: str) -> tuple[Any, ...]:
        try:
            return ("ok", read(text))
        except ValueError:
            return ("unreadable",)

    for text in stamps + WHOLE_SECOND_ODDITIES:
        assert outcome(whole_seconds, text) == outcome(iso_seconds, text), text
        if rng.random() < 0.3:
            MINUTES.clear()


def test_a_leap_second_is_read_alike_by_every_time_path() -> None:
    """'23:59:60Z' is a real UTC second: CloudTrail (whole seconds), JSON lines (Z times) and the general ISO
    reader all take it as the next minute's first instead of dropping the event as unreadable."""
    from tokenward.usage.events import cached_iso_seconds, fast_iso_seconds, iso_seconds, whole_seconds
    from tokenward.usage.parsers.jsonl import JsonLinesParser

    midnight = iso_seconds("2017-01-01T00:00:00Z")
    for text, want in (("2016-12-31T23:59:60Z", midnight), ("2016-12-31T23:59:60.25Z", midnight + 0.25),
                       ("2016-12-31T23:59:60+00:00", midnight), ("2016-12-31 23:59:60", midnight)):
        assert iso_seconds(text) == want, text
    for read in (whole_seconds, cached_iso_seconds, fast_iso_seconds):
        assert read("2016-12-31T23:59:60Z") == midnight
    for bad in ("2016-12-31T23:59:61Z", "2016-12-31T23:60:00Z", "2016-12-31T23:59:600Z"):
        with pytest.raises(ValueError):
            iso_seconds(bad)
    key = s.aws_key_id(random.Random(11))
    rec = {**s.cloudtrail_record(key, s.T0), "eventTime": "2016-12-31T23:59:60Z"}
    ctx = ParseContext("t")
    trail = CloudTrailParser().parse([json.dumps({"Records": [rec]}).encode()], 1, ctx)
    line = json.dumps({"ts": "2016-12-31T23:59:60Z", "aws_key_id": key}).encode()
    lines = JsonLinesParser(ParserOptions()).parse([line], 1, ctx)
    assert [e.at for e in trail] == [e.at for e in lines] == [midnight] and ctx.malformed == 0
