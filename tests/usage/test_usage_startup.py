"""The parallel monitor's serial start and end do the work one process does, in fewer steps: logs opened with
one inventory query and one registration transaction, stored baselines decoded by the worker that needs them,
the workers' baselines kept as the text to store, and the collector paused outside the reading."""

from __future__ import annotations

import gc
import gzip
import json
import random
import shutil
from dataclasses import fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tests import usage_samples as s
from tokenward.gctune import paused as gc_paused
from tokenward.store import Inventory
from tokenward.store.usage import FileRecord, UsageState
from tokenward.usage import logfiles
from tokenward.usage.alerts import AlertManager
from tokenward.usage.identity import InventoryDirectory, Joiner
from tokenward.usage.monitor import FileReport, Monitor, MonitorOptions, Probe, _Open, lazy_gc, probe_all
from tokenward.usage.parallel import monitor_parallel
from tokenward.usage.records import KnownFiles


def _trail(root: Path, keys: list[str], days: range) -> None:
    """A CloudTrail file a day for these keys, a JSON lines log, an empty file and an unrecognised one."""
    for day in days:
        recs = [s.cloudtrail_record(k, s.T0 + timedelta(days=day, hours=h)) for h in range(6) for k in keys]
        s.cloudtrail_file(root / f"trail/{day:02d}.json.gz", recs)
    (root / "trail/empty.log").write_text("")
    (root / "trail/notes.txt").write_text("not a log\n")
    with (root / "trail/requests.jsonl").open("a") as fh:
        for day in days:
            fh.write(json.dumps({"ts": 1741000000 + day * 86400, "aws_key_id": keys[0], "ip": "81.2.69.160"}) + "\n")


def _opened(m: Monitor, paths: list[str], bulk: bool) -> list[tuple[Any, ...]]:
    ops = m.open_all(paths) if bulk else [m._open(p) for p in logfiles.iter_files(paths)]
    return [(op.path, op.record, op.parser and op.parser.name, op.note, op.document) if isinstance(op, _Open)
            else op for op in ops]


def _usage_files(db: Path) -> list[tuple[Any, ...]]:
    """The stored file records (without device, inode and directory: the compared runs read copies)."""
    with Inventory.open(f"sqlite:///{db}") as inv, inv.engine.connect() as conn:
        return [(*r[:4], Path(r[4]).name, *r[5:]) for r in conn.execute(text(
            "SELECT file_id, head_hash, head_len, first_hash, path, offset, lines, complete FROM usage_file "
            "ORDER BY file_id"))]


def test_opening_every_log_at_once_finds_and_registers_what_one_at_a_time_does(tmp_path: Path) -> None:
    """New files, a copy of one (it shares the first's record), files a first run registered, a grown one."""
    keys = [s.aws_key_id(random.Random(i)) for i in range(3)]
    _trail(tmp_path / "logs", keys, range(3))
    results = []
    for bulk in (False, True):
        logs, db = tmp_path / f"logs-{bulk}", tmp_path / f"{bulk}.db"
        shutil.copytree(tmp_path / "logs", logs)
        rounds = []
        for day in (3, 4):
            with Inventory.open(f"sqlite:///{db}") as inv:
                m = Monitor(Joiner(InventoryDirectory(inv)), AlertManager([]), UsageState(inv.engine))
                rounds.append([_relative(r, logs) for r in _opened(m, [str(logs)], bulk)])
                rounds.append([_relative(("", r), logs)[1] for r in m._files.values()])
            _trail(logs, keys, range(day, day + 1))  # another day, and the JSON lines log grows
            shutil.copy(logs / "trail/01.json.gz", logs / f"trail/copy-{day}.json.gz")
        results.append((rounds, _usage_files(db)))
    assert results[0] == results[1]
    assert len(results[1][1]) == 5  # three trail files and the log, then the next day's (its copy shares 01's)


def _relative(row: Any, root: Path) -> Any:
    """A row with root left out of its paths (the two runs read copies of the same tree)."""
    if isinstance(row, FileReport):
        return replace(row, path=row.path.replace(str(root), ""))
    path, rec, *rest = row
    return (path.replace(str(root), ""), replace(rec, path=rec.path.replace(str(root), ""), device=0, inode=0), *rest)


def test_probes_keep_each_log_s_format_not_its_head(tmp_path: Path) -> None:
    """A parallel run holds a probe per log in every process from start to end: a month of an organisation's
    trail is ~10^5 files, and their 64 KiB heads would be gigabytes. The formats are what the heads showed."""
    keys = [s.aws_key_id(random.Random(i)) for i in range(40)]
    _trail(tmp_path / "logs", keys, range(2))
    pretty = tmp_path / "logs/trail/pretty.json"  # a document over many lines: the whole head decides
    pretty.write_text(json.dumps({"Records": [s.cloudtrail_record(keys[0], s.T0)]}, indent=2))
    probes = probe_all([str(tmp_path / "logs")], MonitorOptions())
    found = {Path(p.path).name: (p.fmt, p.document, p.empty) for p in probes if isinstance(p, Probe)}
    assert found == {"00.json.gz": ("cloudtrail", True, False), "01.json.gz": ("cloudtrail", True, False),
                     "pretty.json": ("cloudtrail", True, False), "empty.log": (None, False, True),
                     "notes.txt": (None, False, False), "requests.jsonl": ("jsonl", False, False)}
    assert (tmp_path / "logs/trail/00.json.gz").stat().st_size > 1024  # a head worth keeping, were it kept
    for p in probes:
        assert not [f.name for f in fields(p) if isinstance(getattr(p, f.name), bytes)]


def test_one_query_finds_each_file_s_candidates_in_the_order_its_own_query_gives(tmp_path: Path) -> None:
    with Inventory.open(f"sqlite:///{tmp_path / 'i.db'}") as inv:
        state = UsageState(inv.engine)
        recs = [FileRecord(None, f"h{i}", 10, f"f{i % 3}", 1 + i % 2, 100 + i % 4, f"p{i}", 0, 0, False)
                for i in range(12)]
        state.checkpoint(s_checkpoint(recs))
        keys = [(f"f{i}", d, n) for i in range(4) for d in (1, 2, 3) for n in (100, 101, 102, 103, 104)]
        assert state.find_files(keys) == {k: state.find_file(*k) for k in keys}


def s_checkpoint(recs: list[FileRecord]) -> Any:
    from tokenward.store.usage import Checkpoint

    return Checkpoint({}, tuple(recs), (), {}, {}, (), ())


def test_a_run_decodes_only_the_baselines_of_the_tokens_it_sees(tmp_path: Path) -> None:
    keys = [s.aws_key_id(random.Random(i)) for i in range(4)]
    _trail(tmp_path / "a", keys, range(2))
    _trail(tmp_path / "b", keys[:1], range(2, 3))
    db = f"sqlite:///{tmp_path / 'i.db'}"
    with Inventory.open(db) as inv:
        Monitor(Joiner(InventoryDirectory(inv)), AlertManager([]), UsageState(inv.engine)).run([str(tmp_path / "a")])
        before = UsageState(inv.engine).profile_texts()
        m = Monitor(Joiner(InventoryDirectory(inv)), AlertManager([]), UsageState(inv.engine))
        m.run([str(tmp_path / "b")])
        after = UsageState(inv.engine).profile_texts()
    assert len(before) == 4 and len(m.profiles) == 1
    (seen,) = m.profiles
    assert {t: v for t, v in after.items() if t != seen} == {t: v for t, v in before.items() if t != seen}
    assert json.loads(after[seen])["events"] > json.loads(before[seen])["events"]


def test_the_parent_keeps_the_workers_baselines_as_the_text_they_stored(tmp_path: Path) -> None:
    keys = [s.aws_key_id(random.Random(i)) for i in range(6)]
    _trail(tmp_path / "logs", keys, range(3))
    with Inventory.open(f"sqlite:///{tmp_path / 'i.db'}") as inv:
        m = Monitor(Joiner(InventoryDirectory(inv)), AlertManager([]), UsageState(inv.engine))
        summary = monitor_parallel(m, [str(tmp_path / "logs")], 2)
        stored = UsageState(inv.engine).profile_texts()
    assert not m.profiles and stored == {t: b.text for t, b in m.learned.items()}
    assert [(t.token_id, t.events) for t in summary.learning] == sorted((t, b.events) for t, b in m.learned.items())


def test_reading_collects_cycles_while_the_rest_of_a_batch_run_does_not() -> None:
    enabled = gc.isenabled()
    try:
        gc.enable()
        with gc_paused(True):
            assert not gc.isenabled()
            with lazy_gc():
                assert gc.isenabled()  # workers and one-process reading collect as before
            assert not gc.isenabled()
        assert gc.isenabled()
        with gc_paused(False):  # --follow
            assert gc.isenabled()
    finally:
        (gc.enable if enabled else gc.disable)()


def test_gzip_logs_read_by_two_workers_report_as_one_process(tmp_path: Path) -> None:
    """The bulk opening's registration under temporary ids never leaks into what the run reports or stores."""
    keys = [s.aws_key_id(random.Random(i)) for i in range(4)]
    _trail(tmp_path / "logs", keys, range(2))
    (tmp_path / "logs/trail/cut.json.gz").write_bytes(gzip.compress(b'{"Records": [' * 50)[:-10])
    one = s.monitor_run(tmp_path / "logs", tmp_path / "one.db", 1)
    two = s.monitor_run(tmp_path / "logs", tmp_path / "two.db", 2)
    assert one == two and _usage_files(tmp_path / "one.db")[:1] and all(
        f[0] > 0 for f in _usage_files(tmp_path / "two.db"))


def test_known_files_name_each_file_s_candidates_as_the_inventory_does() -> None:
    """The records of a device and inode, or of a first line, in the order they were added (a record moved on
    keeps its place; one removed and added again goes last), as UsageState.find_file's candidates."""
    def rec(fid: int, first: str, node: int, offset: int = 0) -> FileRecord:
        return FileRecord(fid, f"h{fid}", 10, first, 1, node, f"p{fid}", offset, 0, False)

    files = KnownFiles({3: rec(3, "a", 100), 1: rec(1, "b", 101), 2: rec(2, "a", 102)})
    assert [r.file_id for r in files.candidates("a", 1, 101)] == [3, 1, 2]
    files[3] = rec(3, "a", 100, offset=50)
    assert [(r.file_id, r.offset) for r in files.candidates("a", 9, 9)] == [(3, 50), (2, 0)]
    del files[3]
    files[-1] = rec(-1, "c", 102)
    files[3] = rec(3, "c", 103)
    assert [r.file_id for r in files.candidates("c", 1, 102)] == [2, -1, 3]
    assert files.candidates("a", 1, 100) == [files[2]] and files.candidates("z", 7, 7) == []
    assert list(files) == [1, 2, -1, 3] and len(files) == 4 and dict(files)[2] == rec(2, "a", 102)


def test_known_files_hand_a_checkpoint_only_what_changed_since_it_was_written() -> None:
    def rec(fid: int | None, offset: int = 0) -> FileRecord:
        return FileRecord(fid, f"h{fid}", 10, "f", 1, fid or 0, f"p{fid}", offset, 0, False)

    files = KnownFiles({1: rec(1), 2: rec(2)})
    assert files.changed() == [rec(1), rec(2)]  # not known to be written yet
    files.saved([rec(1), rec(2)])
    files[2] = rec(2)  # the same record again: nothing to write
    assert files.changed() == []
    files[2], files[1] = rec(2, 40), rec(1, 7)
    assert files.changed() == [rec(2, 40), rec(1, 7)]
    files.saved([rec(2, 40)])
    assert files.changed() == [rec(1, 7)]
    del files[1]
    assert files.changed() == []


def test_a_checkpoint_writes_the_records_of_the_logs_read_since_the_last(tmp_path: Path) -> None:
    """A run over thousands of logs checkpoints every few seconds: each wrote every file record."""
    keys = [s.aws_key_id(random.Random(i)) for i in range(3)]
    _trail(tmp_path / "logs", keys, range(3))
    written: list[int] = []
    with Inventory.open(f"sqlite:///{tmp_path / 'i.db'}") as inv:
        state = UsageState(inv.engine)
        save = state.checkpoint
        state.checkpoint = lambda cp: (written.append(len(cp.files)), save(cp))[1]  # type: ignore[method-assign]
        m = Monitor(Joiner(InventoryDirectory(inv), state.idents(), state.token_flags()), AlertManager([]), state)
        m.run([str(tmp_path / "logs")])
        assert written[-1] == 4  # the three trail files and the JSON lines log, read to their ends
        written.clear()
        with (tmp_path / "logs/trail/requests.jsonl").open("a") as fh:
            fh.write(json.dumps({"ts": 1742000000, "aws_key_id": keys[1], "ip": "81.2.69.160"}) + "\n")
        m.run([str(tmp_path / "logs")])
        assert written == [1]  # the grown log only
