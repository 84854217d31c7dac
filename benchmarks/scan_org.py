"""Organisation-scan benchmark: generated bare repositories of mixed sizes scanned by `scan-org`'s tasks on an
embedded LocalCluster with 1 and then 2 worker processes, each into a fresh inventory.

Reports per worker count: repos/minute, blobs/s, MB/s, peak RSS per worker process, and inventory rows
written per second (token + occurrence + source + scanned_blob + scan + org_target rows / wall time).

    python benchmarks/scan_org.py                      # 200 repositories (~2 GB of history), 1 vs 2 workers
    python benchmarks/scan_org.py --repos 8 --scale 0.01   # a tiny run that proves the script works
    python benchmarks/scan_org.py --pg postgresql://user@host/postgres   # inventories on PostgreSQL

Everything is generated under benchmarks/work/scan-org/ (repositories are reused between runs).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = ROOT / "benchmarks" / "work" / "scan-org"
# (share of repositories, commits, filler KB per commit, tokens): ~12 MB of blob content per repository on
# average at scale 1 (~2.4 GB for 200)
MIX = ((0.70, 20, 64, 2), (0.25, 100, 200, 4), (0.05, 300, 400, 8))
COUNTED = ("token", "occurrence", "source", "scanned_blob", "scan", "org_target")


def generate(count: int, scale: float, seed: int) -> list[str]:
    """count bare repositories under WORK/repos-<count>-<scale> (kept for the next run); their paths."""
    from tests.org.repos import make_repo

    where = WORK / f"repos-{count}-{scale:g}"
    done = where / ".complete"
    if not done.exists():
        shutil.rmtree(where, ignore_errors=True)
        rng = random.Random(seed)
        for i in range(count):
            _, commits, kb, tokens = rng.choices(MIX, weights=[m[0] for m in MIX])[0]
            commits = max(2, int(commits * min(1, scale * 10)))
            make_repo(where / f"repo-{i:04d}.git", seed * 100_000 + i, commits=commits, tokens=tokens,
                      filler_kb=max(1, int(kb * scale)))
        done.touch()
    return sorted(str(p) for p in where.glob("repo-*.git"))


def fresh_db(pg: str | None, label: str) -> str:
    """A new empty inventory: a SQLite file, or a new database in the PostgreSQL cluster at pg."""
    if not pg:
        path = WORK / f"inventory-{label}.sqlite"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    name = f"bench_org_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + f"/{name}"


def _warm(options: Any) -> None:
    from tokenward.org.tasks import scanner_for

    scanner_for(options)


def _peak_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def measure(targets: list[str], workers: int, db: str) -> dict[str, Any]:
    """Scan every target with `workers` local worker processes into db; the figures of that run."""
    from tokenward.cli.org import plan
    from tokenward.org.run import ClusterConfig, collect, dask_client, submit
    from tokenward.store.orgruns import OrgRuns

    options = {"github_org": None, "gitlab_group": None, "api_url": None, "rules": [], "min_confidence": "medium",
               "full": False, "timeout": 900.0, "retries": 2}
    config = ClusterConfig(db, None, workers, str(WORK / f"mirrors-{workers}"))
    shutil.rmtree(config.mirrors or "", ignore_errors=True)
    with OrgRuns.open(db) as store:
        planned = plan(store, targets, None, options)
        with dask_client(config) as client:
            # Workers up and rules loaded before the clock starts: a real run pays that once per worker process.
            client.run(_warm, planned.options)
            started = time.monotonic()
            results = collect(client, store, planned, submit(client, planned, config), None)
            seconds = time.monotonic() - started
            rss = sorted(client.run(_peak_rss).values())
        rows = _rows(store)
    blobs, nbytes = sum(r.counts.blobs for r in results), sum(r.counts.bytes for r in results)
    return {"workers": workers, "repos": len(results), "failed": sum(r.state == "failed" for r in results),
            "seconds": round(seconds, 2), "repos_per_minute": round(len(results) / seconds * 60, 1),
            "blobs": blobs, "blobs_per_s": round(blobs / seconds), "mb_per_s": round(nbytes / seconds / 1e6, 2),
            "peak_rss_mb_per_worker": [round(r / 1e6) for r in rss], "db_rows": rows,
            "db_rows_per_s": round(rows / seconds)}


def _rows(store: Any) -> int:
    from sqlalchemy import text

    with store.inventory.engine.connect() as conn:
        return sum(int(conn.execute(text(f"SELECT count(*) FROM {name}")).scalar() or 0) for name in COUNTED)


def main() -> None:
    """Generate, run 1 then 2 workers, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--scale", type=float, default=1.0, help="size factor of every repository")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--pg", help="PostgreSQL admin URL: each run gets a new database there")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    home = WORK / "home"  # a throw-away config/cache home; workers inherit it and the key
    os.environ.update(XDG_CONFIG_HOME=str(home / "config"), XDG_CACHE_HOME=str(home / "cache"),
                      XDG_DATA_HOME=str(home / "data"))
    os.environ.setdefault("TOKENWARD_KEY", secrets.token_hex(32))
    targets = generate(args.repos, args.scale, args.seed)
    size = sum(f.stat().st_size for t in targets for f in Path(t).rglob("*") if f.is_file())
    print(f"{len(targets)} repositories, {size / 1e6:.1f} MB on disk (packed)", flush=True)
    results = [measure(targets, n, fresh_db(args.pg, f"w{n}")) for n in args.workers]
    for r in results:
        print(json.dumps(r))
    out = WORK / f"results-{args.repos}-{args.scale:g}.json"
    out.write_text(json.dumps({"repos": len(targets), "packed_bytes": size, "runs": results}, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
