"""Monitoring against a real inventory: identity join, never-declared tokens, persisted state, no double counting."""

from __future__ import annotations

import gzip
import json
import random
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests import usage_samples as s
from tests.usage.test_usage_detectors import GB, ListSink
from tokenward.identity import Fingerprinter, github_hashed_token, load_key
from tokenward.store import Inventory
from tokenward.store.records import Batch, ScanStart, TokenRecord
from tokenward.store.usage import UsageState
from tokenward.usage.alerts import AlertManager
from tokenward.usage.identity import InventoryDirectory, Joiner, unmapped_id
from tokenward.usage.monitor import Monitor, MonitorOptions
from tokenward.usage.parsers import ParserOptions

pytest_plugins = ["tests.conftest_pg"]


@pytest.fixture
def inventory(db_url: str) -> Iterator[Inventory]:
    """A fresh inventory on each backend (SQLite file, PostgreSQL database)."""
    with Inventory.open(db_url) as inv:
        yield inv


def declare(inv: Inventory, token_id: str, provider: str, preview: str, public: tuple[tuple[str, str], ...]) -> None:
    """Put a token in the inventory the way a scan would."""
    scan = ScanStart("test-scan", datetime.now(UTC), "tester", "host", 1, (), "rules", 1, "0")
    rec = TokenRecord(token_id, provider, "key", preview, public[0][1] if public else None, public, ("r.x",), "high",
                      None, None, "high")
    inv.write_batch(scan, datetime.now(UTC), Batch((rec,), (), ()))


def monitor(inv: Inventory, sink: ListSink | None = None) -> Monitor:
    state = UsageState(inv.engine)
    joiner = Joiner(InventoryDirectory(inv), state.idents(), state.token_flags())
    options = MonitorOptions(parser=ParserOptions(Fingerprinter(load_key())))
    return Monitor(joiner, AlertManager([sink or ListSink()], state.recent_alerts()), state, options)


def trail(tmp_path: Path, key: str, n: int, start: datetime = s.T0, name: str = "t.json.gz") -> Path:
    recs = [s.cloudtrail_record(key, start + timedelta(minutes=5 * i), event_id=f"e{i}") for i in range(n)]
    return s.cloudtrail_file(tmp_path / name, recs)


def events_of(inv: Inventory, token_id: str) -> int:
    return int(UsageState(inv.engine).profiles([token_id])[token_id]["events"])


def test_join_by_aws_key_id_and_github_hashed_token(tmp_path: Path, inventory: Inventory) -> None:
    rng = random.Random(1)
    key = s.aws_key_id(rng)
    token = s.github_token(21)
    declare(inventory, "a1" * 32, "aws", "AKIA…", (("id", key),))
    declare(inventory, "b2" * 32, "github", "ghp_…x", (("github_hashed_token", github_hashed_token(token.encode())),))
    gh = tmp_path / "gh.jsonl"
    gh.write_text(json.dumps(s.github_audit_record(token, s.T0)) + "\n")
    summary = monitor(inventory).run([str(trail(tmp_path, key, 4)), str(gh)])
    assert summary.events == 5 and summary.unmapped == 0
    assert events_of(inventory, "a1" * 32) == 4 and events_of(inventory, "b2" * 32) == 1
    assert {r.token_id for r in inventory.list_tokens()} == {"a1" * 32, "b2" * 32}


def test_unknown_tokens_become_never_declared_entries(tmp_path: Path, inventory: Inventory) -> None:
    key = s.aws_key_id(random.Random(2))
    raw = s.github_token(22)
    line = s.combined_line(GB, s.T0, "GET /user HTTP/1.1", 200, "curl/8", f"Bearer {raw}")
    access = tmp_path / "access.log"
    access.write_text(line + "\n")
    summary = monitor(inventory).run([str(trail(tmp_path, key, 2)), str(access)])
    assert summary.unmapped == 2
    rows = {r.token_id: r for r in inventory.list_tokens()}
    aws_id, http_id = unmapped_id("aws_key_id", key), Fingerprinter(load_key()).token_id(raw.encode())
    assert set(rows) == {aws_id, http_id}
    assert rows[aws_id].preview == key and rows[aws_id].public_id == key  # the key id is shown whole
    assert rows[http_id].preview.startswith("ghp_…") and raw not in rows[http_id].preview
    flags = UsageState(inventory.engine).token_flags()
    assert flags[aws_id][0] is False and flags[http_id][0] is False
    assert monitor(inventory).run([str(trail(tmp_path, key, 3, s.T0 + timedelta(days=1), "u.json.gz"))]).unmapped == 0


def test_same_file_twice_and_compressed_copy_count_once(tmp_path: Path, inventory: Inventory) -> None:
    tid = "c3" * 32
    declare(inventory, tid, "http", "…", ())
    log = tmp_path / "app.jsonl"
    log.write_text("".join(json.dumps({"ts": 1741000000 + i, "token_id": tid}) + "\n" for i in range(100)))
    monitor(inventory).run([str(log)])
    monitor(inventory).run([str(log)])
    rotated = tmp_path / "old" / "app.jsonl.1.gz"
    rotated.parent.mkdir()
    rotated.write_bytes(gzip.compress(log.read_bytes()))
    monitor(inventory).run([str(tmp_path)])  # the directory holds both
    assert events_of(inventory, tid) == 100


def test_appended_lines_are_read_from_where_the_last_run_stopped(tmp_path: Path, inventory: Inventory) -> None:
    tid = "d4" * 32
    declare(inventory, tid, "http", "…", ())
    log = tmp_path / "app.jsonl"
    log.write_text("".join(json.dumps({"ts": 1741000000 + i, "token_id": tid}) + "\n" for i in range(10)))
    monitor(inventory).run([str(log)])
    with log.open("a") as fh:
        fh.write("".join(json.dumps({"ts": 1741000100 + i, "token_id": tid}) + "\n" for i in range(5)))
    log.rename(tmp_path / "app.jsonl.1")  # renamed by rotation: still recognised by inode and head
    summary = monitor(inventory).run([str(tmp_path / "app.jsonl.1")])
    assert summary.events == 5 and events_of(inventory, tid) == 15


def test_revoked_token_from_the_inventory(tmp_path: Path, inventory: Inventory) -> None:
    key = s.aws_key_id(random.Random(3))
    tid = "e5" * 32
    declare(inventory, tid, "aws", "AKIA…", (("id", key),))
    inventory.triage(tid, "revoked", "rotated out", "tester", s.T0 + timedelta(hours=1))
    sink = ListSink()
    monitor(inventory, sink).run([str(trail(tmp_path, key, 30))])  # 5-minute steps: past the 1 h grace
    assert [a.detector for a in sink.alerts] == ["revoked-use"]
    stored = UsageState(inventory.engine).alerts(tid)
    assert len(stored) == 1 and stored[0].count > 1  # repeats inside the throttle window are counted


def test_alerts_are_not_repeated_by_a_later_run(tmp_path: Path, inventory: Inventory) -> None:
    key = s.aws_key_id(random.Random(4))
    declare(inventory, "f6" * 32, "aws", "AKIA…", (("id", key),))
    rec = s.cloudtrail_record(key, s.T0, agent="sqlmap/1.7")
    first, second = ListSink(), ListSink()
    monitor(inventory, first).run([str(s.cloudtrail_file(tmp_path / "a.json.gz", [rec]))])
    rec2 = s.cloudtrail_record(key, s.T0 + timedelta(minutes=3), agent="sqlmap/1.7", event_id="other")
    monitor(inventory, second).run([str(s.cloudtrail_file(tmp_path / "b.json.gz", [rec2]))])
    assert [a.detector for a in first.alerts] == ["bad-agent"] and second.alerts == []


def test_honeytoken_flag_persisted(tmp_path: Path, inventory: Inventory) -> None:
    key = s.aws_key_id(random.Random(5))
    tid = "a7" * 32
    declare(inventory, tid, "aws", "AKIA…", (("id", key),))
    UsageState(inventory.engine).set_token(tid, honeytoken=True)
    sink = ListSink()
    monitor(inventory, sink).run([str(trail(tmp_path, key, 1))])
    assert [a.detector for a in sink.alerts] == ["honeytoken"]
    assert sink.alerts[0].public_id == key and key in sink.alerts[0].headline()


def test_storage_violation_is_persisted(tmp_path: Path, inventory: Inventory) -> None:
    raw = s.github_token(23)
    log = tmp_path / "access.log"
    log.write_text(s.combined_line(GB, s.T0, f"GET /x?token={raw} HTTP/1.1", 200, "curl/8") + "\n")
    summary = monitor(inventory).run([str(log)])
    assert len(summary.violations) == 1
    stored = UsageState(inventory.engine).violations()
    assert len(stored) == 1 and stored[0].kind == "token-in-url" and raw not in repr(stored)


def test_unreadable_and_unknown_inputs_are_reported_not_fatal(tmp_path: Path, inventory: Inventory) -> None:
    odd = tmp_path / "odd.txt"
    odd.write_text("hello world\n")
    bad_gz = tmp_path / "bad.json.gz"
    lines = b"".join(b'{"ts": %d, "token_id": "%s"}\n' % (1741000000 + i, b"ab" * 32) for i in range(20000))
    bad_gz.write_bytes(gzip.compress(lines)[:-2000])
    summary = monitor(inventory).run([str(odd), str(bad_gz)])
    assert 0 < summary.events < 20000
    notes = {Path(f.path).name: f.note for f in summary.files}
    assert "not recognised" in notes["odd.txt"] and "truncated gzip" in notes["bad.json.gz"]


def test_directory_walk_of_a_cloudtrail_prefix(tmp_path: Path, inventory: Inventory) -> None:
    key = s.aws_key_id(random.Random(6))
    base = tmp_path / "AWSLogs/123456789012/CloudTrail"
    for region, day in (("eu-west-1", 3), ("us-east-1", 4)):
        recs = [s.cloudtrail_record(key, s.T0 + timedelta(days=day - 3, minutes=i), event_id=f"{region}{i}")
                for i in range(3)]
        s.cloudtrail_file(base / region / f"2025/03/0{day}/123456789012_CloudTrail_{region}_x.json.gz", recs)
    summary = monitor(inventory).run([str(tmp_path / "AWSLogs")])
    assert summary.events == 6 and len(summary.files) == 2
    shutil.rmtree(base / "us-east-1")
    assert monitor(inventory).run([str(tmp_path / "AWSLogs")]).events == 0


def test_parallel_workers_match_one_process(tmp_path: Path, inventory: Inventory) -> None:
    from tokenward.usage.parallel import monitor_parallel

    rng = random.Random(8)
    ids = [f"{rng.getrandbits(256):064x}" for _ in range(12)]
    log = tmp_path / "many.jsonl"
    with log.open("w") as fh:
        for i in range(6000):
            tid = ids[i % len(ids)]
            ip = "185.220.101.1" if i == 5900 else GB
            fh.write(json.dumps({"ts": 1741000000 + i * 30, "token_id": tid, "ip": ip, "action": f"a{i % 4}",
                                 "user_agent": "sqlmap/1.7" if i == 5990 else "curl/8"}) + "\n")
    single, parallel = ListSink(), ListSink()
    with Inventory.open(f"sqlite:///{tmp_path / 'one.db'}") as one:
        ref = monitor(one, single)
        ref.run([str(log)])
    m = monitor(inventory, parallel)
    summary = monitor_parallel(m, [str(log)], 2)
    assert summary.events == 6000 and summary.unmapped == 12
    assert sorted((a.token_id, a.detector, a.at) for a in parallel.alerts) == \
        sorted((a.token_id, a.detector, a.at) for a in single.alerts) != []
    stored = UsageState(inventory.engine).profiles()
    assert {t: d["events"] for t, d in stored.items()} == {t: p.events for t, p in ref.profiles.items()}
    assert monitor_parallel(monitor(inventory), [str(log)], 2).events == 0  # offsets were saved: nothing twice


def test_the_directory_reads_public_ids_as_each_token_detail_has_them(inventory: Inventory) -> None:
    """known() reads public ids a page at a time: the same tokens, order and ids as one token_detail each."""
    rng = random.Random(3)
    for i in range(12):
        public = tuple(sorted({(name, f"{name}-{rng.getrandbits(32):x}") for name in
                               rng.sample(["id", "aws_access_key_id", "github_hashed_token", "accessor"], i % 4)}))
        declare(inventory, f"{i:02x}" * 32, ["aws", "github", "openbao", "slack"][i % 4], f"p{i}", public)
    expected = []
    for row in sorted(inventory.list_tokens(), key=lambda r: r.kind != "access-key-id"):
        public = (("id", row.public_id),) if row.public_id else ()
        if row.provider in InventoryDirectory.PUBLIC_PROVIDERS:
            public = inventory.token_detail(row.token_id).public_ids or public
        expected.append((row.token_id, public))
    assert [(k.info.token_id, k.public_ids) for k in InventoryDirectory(inventory).known()] == expected
    assert any(len(ids) > 1 for _, ids in expected)
