"""Inventory benchmark: ingest N tokens / M occurrences into SQLite and PostgreSQL, rescan them, list them.

    python benchmarks/inventory_ingest.py                      # 100,000 tokens, 1,000,000 occurrences
    python benchmarks/inventory_ingest.py --tokens 10000 --occurrences 100000 --backend sqlite
    python benchmarks/inventory_ingest.py --pg-url postgresql://user@host/db   # else a throwaway cluster

Findings are synthetic (git-history occurrences with provenance, one blob each, spread over 50
repositories), built in memory and written through the same ScanRecorder as `tokenward scan --db`,
so the figures cover record building, batching and the database, not matching. Measured:
  ingest    first write of every finding (new tokens, new occurrences), then the scan record
  rescan    the same findings again (idempotent: every row is already there)
  list      Inventory.list_tokens() + formatting in-process, and `tokenward inventory list` end to end
  size      SQLite file bytes (after a checkpoint) / pg_database_size, per 10^6 occurrences
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from tokenward.cli.inventory import LIST_COLUMNS
from tokenward.findings import Finding, Location
from tokenward.sources.interface import CommitInfo, GitProvenance, Origin
from tokenward.store import Inventory, ScanRecorder

ROOT = Path(__file__).resolve().parents[1]
KEY = bytes(range(32))
REPOS = 50


def findings(tokens: int, occurrences: int) -> Iterator[Finding]:
    """occurrences synthetic git findings of `tokens` distinct tokens (no plaintext anywhere)."""
    per = max(1, occurrences // tokens)
    for i in range(occurrences):
        t = i % tokens
        token_id = hashlib.sha256(b"token %d" % t).hexdigest()
        repo = f"/srv/git/repo{t % REPOS:02d}"
        blob = hashlib.sha1(b"blob %d" % i).hexdigest()
        commit = CommitInfo(hashlib.sha1(b"commit %d" % (i // per)).hexdigest(), f"Dev {t % 97}",
                            f"dev{t % 97}@example.test", "2024-03-01T12:00:00+00:00", "change")
        git = GitProvenance(commit, (f"src/app{t % 300}/settings{i % 7}.py",), ("refs/heads/main",), 1, 1,
                            in_head=i % 3 == 0)
        yield Finding(
            rule_id="github.pat-classic", rule_name="GitHub personal access token", provider="github",
            kind="pat-classic", confidence="high", token_id=token_id, preview=f"ghp_…{token_id[:4]}", public_id=None,
            public_ids=(("github_hashed_token", hashlib.sha256(token_id.encode()).hexdigest()[:44]),),
            origin=Origin("git", repo, git.paths[0], blob_id=blob, git=git),
            location=Location(3 + i % 40, 12, 3 + i % 40, 52, 200 + i % 4000, 40),
        )


def ingest(url: str, batch: list[Finding]) -> tuple[float, float]:
    """(wall, this process's CPU) seconds to write batch as one scan (records, batches, transactions)."""
    start, cpu = time.perf_counter(), time.process_time()
    recorder = ScanRecorder.open(url, KEY, ["/srv/git"], "bench-ruleset", 1)
    stats = recorder.write(batch)
    recorder.inventory.close()
    assert stats.new_occurrences in (0, len(batch)), stats
    return time.perf_counter() - start, time.process_time() - cpu


def list_times(url: str) -> tuple[float, float, int]:
    """(in-process list+format seconds, `tokenward inventory list` wall seconds, rows)."""
    start = time.perf_counter()
    with Inventory.open(url) as inv:
        lines = inv.token_table(LIST_COLUMNS)
    io.StringIO().write("\n".join(lines))
    inproc = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tokenward", "inventory", "list", "--db", url], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return inproc, time.perf_counter() - start, len(lines) - 1


def size(url: str) -> int:
    """Bytes on disk."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        if url.startswith("sqlite"):
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            path = Path(url.split("///", 1)[1])
            engine.dispose()
            return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        value = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return int(value)


def throwaway_pg() -> tuple[str, Path]:
    """Start scripts/pg.sh in a temp dir; returns (URL of a fresh database, dir)."""
    directory = Path(tempfile.mkdtemp(prefix="tokenward-bench-pg-"))
    base = subprocess.run(["bash", str(ROOT / "scripts" / "pg.sh"), "start", str(directory)], check=True,
                          capture_output=True, text=True).stdout.strip()
    name = f"bench_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return base.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + f"/{name}", directory


def run(backend: str, url: str, batch: list[Finding], occurrences: int) -> str:
    """One markdown table row."""
    first, first_cpu = ingest(url, batch)
    print(f"{backend}: ingest {first:.1f} s wall, {first_cpu:.1f} s CPU", file=sys.stderr, flush=True)
    again, again_cpu = ingest(url, batch)
    print(f"{backend}: rescan {again:.1f} s wall, {again_cpu:.1f} s CPU", file=sys.stderr, flush=True)
    inproc, cli, rows = list_times(url)
    per_million = size(url) * 1_000_000 / occurrences
    return (f"| {backend} | {first:.0f} s wall, {first_cpu:.0f} s CPU ({occurrences / first:,.0f} occ/s) | "
            f"{again:.0f} s wall, {again_cpu:.0f} s CPU | {rows:,} rows: {inproc:.2f} s in-process, {cli:.2f} s CLI | "
            f"{per_million / 2**20:,.0f} MiB |")


def main() -> None:
    """Parse options, run each backend, print a markdown table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=100_000)
    ap.add_argument("--occurrences", type=int, default=1_000_000)
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--pg-url", help="an empty PostgreSQL database (default: a throwaway cluster)")
    args = ap.parse_args()
    os.environ.setdefault("TOKENWARD_ACTOR", "benchmark")
    batch = list(findings(args.tokens, args.occurrences))
    print(f"{args.tokens:,} tokens, {args.occurrences:,} occurrences; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, SQLite {_sqlite()}",
          file=sys.stderr)
    print("| backend | ingest | rescan (no new rows) | inventory list | size per 10^6 occurrences |", flush=True)
    print("|---|---|---|---|---|")
    if args.backend in ("sqlite", "both"):
        work = Path(tempfile.mkdtemp(prefix="tokenward-bench-"))
        print(run("SQLite", f"sqlite:///{work / 'inventory.db'}", batch, args.occurrences), flush=True)
        shutil.rmtree(work)
    if args.backend in ("postgresql", "both"):
        url, directory = (args.pg_url, None) if args.pg_url else throwaway_pg()
        try:
            print(run("PostgreSQL 15", url, batch, args.occurrences), flush=True)
        finally:
            if directory is not None:
                subprocess.run(["bash", str(ROOT / "scripts" / "pg.sh"), "stop", str(directory)], check=False)
                shutil.rmtree(directory, ignore_errors=True)


def _sqlite() -> str:
    import sqlite3

    return sqlite3.sqlite_version


if __name__ == "__main__":
    main()
