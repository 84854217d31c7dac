"""Dashboard benchmark: `tokenward serve` over 100k tokens / 1M occurrences, 50 concurrent clients.

    .venv/bin/python benchmarks/dashboard.py                          # SQLite, 100,000 tokens, 1,000,000 occ.
    .venv/bin/python benchmarks/dashboard.py --backend postgresql     # a throwaway cluster (scripts/pg.sh)
    .venv/bin/python benchmarks/dashboard.py --pg-url postgresql://user@host/db --clients 50 --seconds 60
    .venv/bin/python benchmarks/dashboard.py --tokens 10000 --occurrences 100000 --seconds 10   # a quick look
    .venv/bin/python benchmarks/dashboard.py --backend both             # SQLite, then a throwaway PostgreSQL
    .venv/bin/python benchmarks/dashboard.py --db sqlite:///big.db --no-fill   # an inventory filled before
    .venv/bin/python benchmarks/dashboard.py --model paced --change-every 10   # open tabs, a triage every 10 s

Fills the inventory with the synthetic findings of benchmarks/inventory_ingest.py (written through the
same ScanRecorder as `tokenward scan --db`; owners assigned to 80% of the tokens, a few triaged), makes a
user, starts `tokenward serve` on a free loopback port, then runs `--clients` concurrent clients for
`--seconds` under one or both load models (`--model`, default both, one table each):

- closed: each client sends its next request as soon as the last one answered (no think time), with an
  API key: the overview (/, 30%), the change poll (/api/changes, 10%) or an inventory page (/tokens?page=N,
  random N; 30% of them sorted, 20% filtered by owner and status). It measures the most the server does
  with this many clients in flight: at saturation a request's time is mostly its wait for a CPU.
- paced: each client is an open dashboard tab with a browser session cookie. Like static/app.js it asks
  /api/changes?since=STAMP one poll interval (1 s, the pages' data-poll) after its last poll answered and
  fetches its page again when the poll says changed; it navigates to a new page of the same mix (overview
  one time in three, else an inventory page as above) after a think time drawn from 2-8 s. The offered
  rate is fixed by the model (about clients x (1/1.0 s + 1/5 s)); static files are left out (browsers
  keep them). `--change-every S` triages a token through the API every S seconds, so tabs refresh.

Server time is the app's own `Server-Timing` header (from the app's outermost layer entered to the
response started: routing, auth, queries and rendering; not the socket); the client latency is printed
too. A PostgreSQL inventory is vacuumed and analysed after the fill (what autovacuum does a minute later).
Targets (issue 16): overview p95 < 300 ms, inventory page p95 < 200 ms, no errors. Prints a Markdown table
per model and writes benchmarks/work/dashboard.json. The load generator runs on the same machine as the
server: on a shared or small machine the closed model's figures are mostly queueing for the CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import re
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
POLL_S = 1.0  # the pages' poll interval (WebSettings.poll_ms, data-poll in base.html, static/app.js)
THINK_S = (2.0, 8.0)  # a paced client's time on a page before it navigates, uniform


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


def make_key(url: str, role: str = "read") -> str:
    """A new user's API key."""
    from tokenward.store import Inventory
    from tokenward.store.users import add_user

    with Inventory.open(url) as inv:
        return add_user(inv, f"bench-{role}-{os.getpid()}-{time.time_ns()}", role, datetime.now(UTC))


def make_sessions(url: str, key: str, n: int) -> list[str]:
    """n browser session cookie values of key's user (as many tabs; one login each)."""
    from datetime import timedelta

    from tokenward.store import Inventory
    from tokenward.store.users import start_session, user_for_key

    with Inventory.open(url) as inv:
        user = user_for_key(inv, key)
        assert user is not None
        return [start_session(inv, user, datetime.now(UTC), timedelta(hours=2))[0] for _ in range(n)]


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


def _page(rng: random.Random, pages: int) -> tuple[str, str]:
    """(kind, path) of a page: the overview one time in three, else an inventory page (random page; 30%
    sorted, 20% filtered by owner and status)."""
    if rng.random() < 1 / 3:
        return "overview", "/"
    query = f"/tokens?page={rng.randrange(1, pages + 1)}"
    if rng.random() < 0.3:
        query += f"&sort={rng.choice(SORTS)}&order={rng.choice(('asc', 'desc'))}"
    if rng.random() < 0.2:
        query += f"&owner=team-{rng.randrange(40):02d}&status=open"
    return "inventory", query


def _target(rng: random.Random, pages: int) -> tuple[str, str]:
    """(kind, path) of the next request of a closed-loop client: 10% change polls, else a page."""
    if rng.random() < 0.1:
        return "changes", "/api/changes?since=0"
    return _page(rng, pages)


class Recorder:
    """Server and client times per kind of request, and the errors."""

    def __init__(self) -> None:
        self.times: dict[str, list[tuple[float, float]]] = {}
        self.errors: list[str] = []

    async def get(self, c: httpx.AsyncClient, kind: str, path: str) -> httpx.Response | None:
        """GET path, recording its times (None on an error, which is counted)."""
        started = time.perf_counter()
        try:
            got = await c.get(path)
        except httpx.HTTPError as exc:
            self.errors.append(f"{path}: {type(exc).__name__}")
            return None
        took = time.perf_counter() - started
        if got.status_code != 200:
            self.errors.append(f"{path}: {got.status_code}")
            return None
        server = float(got.headers.get("server-timing", "app;dur=0").split("dur=")[1]) / 1000
        self.times.setdefault(kind, []).append((server, took))
        return got


async def closed_client(base: str, key: str, until: float, seed: int, pages: int, out: Recorder) -> None:
    """One closed-loop client: requests back to back until the deadline."""
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
        while time.monotonic() < until:
            await out.get(c, *_target(rng, pages))


STAMP = re.compile(r'data-stamp="([^"]*)"')


async def _open(c: httpx.AsyncClient, out: Recorder, kind: str, path: str) -> str | None:
    """Load a page as a tab does; its change stamp (what the tab polls with), None when it failed."""
    got = await out.get(c, kind, path)
    found = STAMP.search(got.text) if got is not None else None
    return found.group(1) if found else None


async def tab(c: httpx.AsyncClient, until: float, seed: int, pages: int, out: Recorder) -> None:
    """One open dashboard tab: polls every POLL_S after its last poll answered, refetches its page when the
    poll says changed, and navigates after a think time of THINK_S."""
    rng = random.Random(seed)
    await asyncio.sleep(rng.uniform(0, THINK_S[0]))  # tabs were opened at different times
    kind, path = _page(rng, pages)
    since, leave = await _open(c, out, kind, path), time.monotonic() + rng.uniform(*THINK_S)
    while (now := time.monotonic()) < until:
        await asyncio.sleep(max(0.0, min(leave, now + POLL_S) - now))
        if time.monotonic() >= leave:
            kind, path = _page(rng, pages)
            since, leave = await _open(c, out, kind, path), time.monotonic() + rng.uniform(*THINK_S)
            continue
        got = await out.get(c, "changes", f"/api/changes?since={since or ''}")
        if got is not None and got.json()["changed"]:
            since = got.json()["stamp"]
            await out.get(c, kind, path)


async def changer(base: str, key: str, until: float, every: float, ids: list[str]) -> None:
    """Triage a token through the API every `every` seconds (flipping it between two statuses)."""
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
        for n in itertools.count():
            await asyncio.sleep(every)
            if time.monotonic() >= until:
                return
            status = ("accepted-risk", "false-positive")[n % 2]
            await c.post(f"/api/tokens/{ids[n % len(ids)]}/triage", json={"status": status, "note": "bench"})


def warm(base: str, key: str, workers: int = 1) -> None:
    """Each page a few times over parallel connections before the clock starts, so every server process has
    its API-key, summary and filter caches filled, as in a server that has been up for a while (the figures
    are its steady state)."""
    async def one() -> None:
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120) as c:
            for path in ("/", "/tokens", "/api/changes?since=0"):
                (await c.get(path)).raise_for_status()

    async def everyone() -> None:
        await asyncio.gather(*(one() for _ in range(4 * workers)))

    asyncio.run(everyone())


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] if ordered else float("nan")


def summarise(out: Recorder, seconds: float, offered: dict[str, float] | None) -> dict[str, Any]:
    """Per kind: count, rate (and the model's offered rate), server p50/p95/p99, client p95 (ms); errors."""
    result: dict[str, Any] = {"errors": len(out.errors), "error_samples": out.errors[:10]}
    for kind, rows in out.times.items():
        server, took = [r[0] for r in rows], [r[1] for r in rows]
        result[kind] = {"requests": len(rows), "per_second": len(rows) / seconds,
                        **{f"server_p{p}_ms": pct(server, p) * 1000 for p in (50, 95, 99)},
                        "client_p95_ms": pct(took, 95) * 1000}
        if offered is not None:
            result[kind]["offered_per_second"] = offered.get(kind, 0.0)
    return result


def load(base: str, key: str, clients: int, seconds: float, pages: int) -> dict[str, Any]:
    """The closed model: clients back to back for seconds."""
    out, until = Recorder(), time.monotonic() + seconds

    async def everyone() -> None:
        await asyncio.gather(*(closed_client(base, key, until, i, pages, out) for i in range(clients)))

    asyncio.run(everyone())
    return {"model": "closed", **summarise(out, seconds, None)}


def load_paced(base: str, cookies: list[str], seconds: float, pages: int, change: tuple[str, float] | None,
               ids: list[str]) -> dict[str, Any]:
    """The paced model: one open tab per cookie for seconds (and a triage every change[1] s with change[0])."""
    out = Recorder()

    async def everyone() -> None:
        # the tabs' clients are made before the clock starts (making 50 costs the load generator a second of CPU)
        clients = [httpx.AsyncClient(base_url=base, cookies={"tw_session": cookie}, timeout=60) for cookie in cookies]
        until = time.monotonic() + seconds
        tabs = [tab(c, until, 1000 + i, pages, out) for i, c in enumerate(clients)]
        extra = [changer(base, change[0], until, change[1], ids)] if change and change[1] > 0 else []
        await asyncio.gather(*tabs, *extra)
        await asyncio.gather(*(c.aclose() for c in clients))

    asyncio.run(everyone())
    navigations = len(cookies) / (sum(THINK_S) / 2)
    offered = {"changes": len(cookies) / POLL_S, "overview": navigations / 3, "inventory": navigations * 2 / 3}
    return {"model": "paced", **summarise(out, seconds, offered)}


def table(result: dict[str, Any]) -> str:
    """The Markdown table of one run (the paced model adds the rate its clients offer)."""
    paced = result.get("model") == "paced"
    lines = [f"| page | requests/s |{' offered/s |' if paced else ''} server p50 | server p95 | server p99 "
             "| client p95 |", "|---|---|---|---|---|---|" + ("---|" if paced else "")]
    for kind in ("overview", "inventory", "changes"):
        r = result.get(kind)
        if r:
            offered = f" {r['offered_per_second']:.0f} |" if paced else ""
            lines.append(f"| {kind} | {r['per_second']:.0f} |{offered} {r['server_p50_ms']:.0f} ms "
                         f"| {r['server_p95_ms']:.0f} ms | {r['server_p99_ms']:.0f} ms | {r['client_p95_ms']:.0f} ms |")
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


def run(backend: str, args: argparse.Namespace, temp: Path) -> list[dict[str, Any]]:
    """Fill (unless --no-fill), serve, load under each model and report one backend."""
    url, cluster = _database(backend, args, temp)
    proc = None
    try:
        if not args.no_fill:
            fill(url, args.tokens, args.occurrences)
        settle(url)
        proc, base = start_server(url, temp / f"serve-{backend}.log", args.workers)
        key = make_key(url)
        warm(base, key, args.workers)
        results = [_model(model, url, base, key, args) for model in MODELS[args.model]]
        for result in results:
            result.update(backend="postgresql" if "postgresql" in url else "sqlite", tokens=args.tokens,
                          occurrences=args.occurrences, clients=args.clients, seconds=args.seconds,
                          workers=args.workers, machine=f"{platform.processor() or platform.machine()}, "
                                                        f"{os.cpu_count()} cores")
            print(f"\n{result['backend']}, {result['model']} model:\n{table(result)}", flush=True)
        return results
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        if cluster is not None:
            subprocess.run(["bash", str(ROOT / "scripts" / "pg.sh"), "stop", str(cluster)], check=False)
            shutil.rmtree(cluster, ignore_errors=True)


MODELS = {"closed": ("closed",), "paced": ("paced",), "both": ("closed", "paced")}


def _model(model: str, url: str, base: str, key: str, args: argparse.Namespace) -> dict[str, Any]:
    """One load model's run against the server at base."""
    pages = max(1, args.tokens // 50)
    if model == "closed":
        return load(base, key, args.clients, args.seconds, pages)
    change = (make_key(url, "triage"), args.change_every) if args.change_every > 0 else None
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
        ids = [row["token_id"] for row in c.get("/api/tokens?per_page=20").json()["items"]]
    return load_paced(base, make_sessions(url, key, args.clients), args.seconds, pages, change, ids)


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
    ap.add_argument("--model", choices=tuple(MODELS), default="both", help="closed loop, paced tabs, or both")
    ap.add_argument("--change-every", type=float, default=0.0,
                    help="paced: triage a token through the API every this many seconds (0: no changes)")
    args = ap.parse_args()
    if args.no_fill and not args.db:
        ap.error("--no-fill needs --db")
    os.environ.setdefault("TOKENWARD_ACTOR", "benchmark")
    WORK.mkdir(exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix="tokenward-dash-"))
    backends = ["sqlite", "postgresql"] if args.backend == "both" and not args.db else [args.backend]
    try:
        results = [r for b in backends for r in run(b, args, temp)]
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    (WORK / "dashboard.json").write_text(json.dumps(results if len(results) > 1 else results[0], indent=2))


if __name__ == "__main__":
    main()
