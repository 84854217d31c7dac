"""Dashboard benchmark: `tokenward serve` over 100k tokens / 1M occurrences, 50 concurrent clients.

    .venv/bin/python benchmarks/dashboard.py                          # SQLite, 100,000 tokens, 1,000,000 occ.
    .venv/bin/python benchmarks/dashboard.py --backend postgresql     # a throwaway cluster (scripts/pg.sh)
    .venv/bin/python benchmarks/dashboard.py --pg-url postgresql://user@host/db --clients 50 --seconds 60
    .venv/bin/python benchmarks/dashboard.py --tokens 10000 --occurrences 100000 --seconds 10   # a quick look
    .venv/bin/python benchmarks/dashboard.py --backend both             # SQLite, then a throwaway PostgreSQL
    .venv/bin/python benchmarks/dashboard.py --db sqlite:///big.db --no-fill   # an inventory filled before

Fills the inventory with the synthetic findings of benchmarks/inventory_ingest.py (written through the
same ScanRecorder as `tokenward scan --db`; owners assigned to 80% of the tokens, a few triaged), makes a
user, starts `tokenward serve` on a free loopback port, then runs `--clients` concurrent clients for
`--seconds`: each loops over the overview (/), an inventory page (/tokens?page=N, random N, sometimes
sorted or filtered) and the change poll (/api/changes). Server time is the app's own `Server-Timing`
header (routing, queries and rendering; not the socket); the client latency is printed too. A PostgreSQL
inventory is vacuumed and analysed after the fill (what autovacuum does a minute later). Targets
(issue 16): overview p95 < 300 ms, inventory page p95 < 200 ms, no errors. Prints a Markdown table and
writes benchmarks/work/dashboard.json. Do not run it on a shared machine: it saturates every core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import inventory_ingest  # noqa: E402

WORK = HERE / "work"
TOKENWARD = str(Path(sys.executable).with_name("tokenward"))
SORTS = ("severity", "last_seen", "first_seen", "provider", "owner", "occurrences")


def fill(url: str, tokens: int, occurrences: int) -> None:
    """Synthetic findings through the real writer, owners for most tokens, a few triage events."""
    from tokenward.store import Inventory

    started = time.perf_counter()
    inventory_ingest.ingest(url, list(inventory_ingest.findings(tokens, occurrences)))
    with Inventory.open(url) as inv:
        ids = [row.token_id for row in inv.list_tokens()]
        rng = random.Random(5)
        inv.set_owners({i: f"team-{rng.randrange(40):02d}" for i in ids if rng.random() < 0.8})
        for i in ids[:200]:
            inv.triage(i, rng.choice(("false-positive", "revoked", "accepted-risk")), "bench", "bench",
                       datetime.now(UTC))
    print(f"filled in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)


def settle(url: str) -> None:
    """PostgreSQL: VACUUM ANALYZE, as autovacuum would soon after a bulk load (planner statistics, visibility
    map for index-only scans); SQLite keeps no statistics unless asked, and the app never asks."""
    if "postgresql" not in url:
        return
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def make_key(url: str) -> str:
    """A read user's API key."""
    from tokenward.store import Inventory
    from tokenward.store.users import add_user

    with Inventory.open(url) as inv:
        return add_user(inv, f"bench-{os.getpid()}-{time.time_ns()}", "read", datetime.now(UTC))


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, log: Path, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    """`tokenward serve --workers N` on a free port, once /api/health answers."""
    port = free_port()
    proc = subprocess.Popen([TOKENWARD, "serve", "--db", url, "--port", str(port), "--workers", str(workers)],
                            stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"tokenward serve did not start: {log.read_text()[-2000:]}")


def _target(rng: random.Random, pages: int) -> tuple[str, str]:
    """(kind, path) of the next request of a client."""
    roll = rng.random()
    if roll < 0.3:
        return "overview", "/"
    if roll < 0.4:
        return "changes", "/api/changes?since=0"
    query = f"/tokens?page={rng.randrange(1, pages + 1)}"
    if rng.random() < 0.3:
        query += f"&sort={rng.choice(SORTS)}&order={rng.choice(('asc', 'desc'))}"
    if rng.random() < 0.2:
        query += f"&owner=team-{rng.randrange(40):02d}&status=open"
    return "inventory", query


async def client(base: str, key: str, until: float, seed: int, pages: int, out: dict[str, list[Any]]) -> None:
    """One client: requests back to back until the deadline, recording server and client times."""
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
        while time.monotonic() < until:
            kind, path = _target(rng, pages)
            started = time.perf_counter()
            try:
                got = await c.get(path)
            except httpx.HTTPError as exc:
                out["errors"].append(f"{path}: {type(exc).__name__}")
                continue
            took = time.perf_counter() - started
            if got.status_code != 200:
                out["errors"].append(f"{path}: {got.status_code}")
                continue
            server = float(got.headers.get("server-timing", "app;dur=0").split("dur=")[1]) / 1000
            out.setdefault(kind, []).append((server, took))


def warm(base: str, key: str) -> None:
    """One request to each page before the clock starts: the server's API-key, summary and filter caches
    filled once, as in a server that has been up for a while (the figures are its steady state)."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120) as c:
        for path in ("/", "/tokens", "/api/changes?since=0"):
            c.get(path).raise_for_status()


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] if ordered else float("nan")


def load(base: str, key: str, clients: int, seconds: float, pages: int) -> dict[str, Any]:
    """Run the clients; per kind: count, server p50/p95/p99, client p95 (ms); errors."""
    out: dict[str, list[Any]] = {"errors": []}
    until = time.monotonic() + seconds

    async def everyone() -> None:
        await asyncio.gather(*(client(base, key, until, i, pages, out) for i in range(clients)))

    asyncio.run(everyone())
    result: dict[str, Any] = {"errors": len(out["errors"]), "error_samples": out["errors"][:10]}
    for kind, rows in out.items():
        if kind == "errors":
            continue
        server, took = [r[0] for r in rows], [r[1] for r in rows]
        result[kind] = {"requests": len(rows), "per_second": len(rows) / seconds,
                        **{f"server_p{p}_ms": pct(server, p) * 1000 for p in (50, 95, 99)},
                        "client_p95_ms": pct(took, 95) * 1000}
    return result


def table(result: dict[str, Any]) -> str:
    """The Markdown table of one run."""
    lines = ["| page | requests/s | server p50 | server p95 | server p99 | client p95 |", "|---|---|---|---|---|---|"]
    for kind in ("overview", "inventory", "changes"):
        r = result.get(kind)
        if r:
            lines.append(f"| {kind} | {r['per_second']:.0f} | {r['server_p50_ms']:.0f} ms | {r['server_p95_ms']:.0f} ms"
                         f" | {r['server_p99_ms']:.0f} ms | {r['client_p95_ms']:.0f} ms |")
    lines.append(f"\nerrors: {result['errors']} {result['error_samples']}")
    return "\n".join(lines)


def _database(backend: str, args: argparse.Namespace, temp: Path) -> tuple[str, Path | None]:
    """(inventory URL, throwaway PostgreSQL cluster directory or None)."""
    if args.db:
        return str(args.db), None
    if backend == "postgresql" and args.pg_url:
        return str(args.pg_url), None
    if backend == "postgresql":
        url, cluster = inventory_ingest.throwaway_pg()
        return url, cluster
    return f"sqlite:///{temp / 'inventory.db'}", None


def run(backend: str, args: argparse.Namespace, temp: Path) -> dict[str, Any]:
    """Fill (unless --no-fill), serve, load and report one backend."""
    url, cluster = _database(backend, args, temp)
    proc = None
    try:
        if not args.no_fill:
            fill(url, args.tokens, args.occurrences)
        settle(url)
        proc, base = start_server(url, temp / f"serve-{backend}.log", args.workers)
        key = make_key(url)
        warm(base, key)
        result = load(base, key, args.clients, args.seconds, max(1, args.tokens // 50))
        result.update(backend="postgresql" if "postgresql" in url else "sqlite", tokens=args.tokens,
                      occurrences=args.occurrences, clients=args.clients, seconds=args.seconds, workers=args.workers,
                      machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
        print(f"\n{result['backend']}:\n{table(result)}", flush=True)
        return result
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        if cluster is not None:
            subprocess.run(["bash", str(ROOT / "scripts" / "pg.sh"), "stop", str(cluster)], check=False)
            shutil.rmtree(cluster, ignore_errors=True)


def main() -> None:
    """Parse options, then fill, serve, load and report each backend asked for."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=100_000)
    ap.add_argument("--occurrences", type=int, default=1_000_000)
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    ap.add_argument("--db", help="the inventory URL to fill and serve (sqlite:///… or postgresql://…)")
    ap.add_argument("--no-fill", action="store_true", help="--db is filled already (--tokens sizes the paging)")
    ap.add_argument("--pg-url", help="an empty PostgreSQL database (default: a throwaway cluster)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=1, help="`tokenward serve --workers N` (server processes)")
    args = ap.parse_args()
    if args.no_fill and not args.db:
        ap.error("--no-fill needs --db")
    os.environ.setdefault("TOKENWARD_ACTOR", "benchmark")
    WORK.mkdir(exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix="tokenward-dash-"))
    backends = ["sqlite", "postgresql"] if args.backend == "both" and not args.db else [args.backend]
    try:
        results = [run(b, args, temp) for b in backends]
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    (WORK / "dashboard.json").write_text(json.dumps(results if len(results) > 1 else results[0], indent=2))


if __name__ == "__main__":
    main()
