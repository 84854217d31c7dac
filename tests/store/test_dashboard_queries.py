"""The dashboard's query layer on both backends: every sort in both directions against a reference order,
the filters that use the sort indexes, counts reused per change stamp, pages sought from remembered page
starts (DashboardQueries), severity_rank whoever writes a token, and migration 0070 on an inventory holding
tokens."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from tokenward.findings import Finding, Location
from tokenward.sources.interface import Origin
from tokenward.store import Inventory, ScanRecorder
from tokenward.store import migrate as store_migrate
from tokenward.store import tables as t
from tokenward.store.dashboard import DashboardQueries
from tokenward.store.queries import NO_OWNER, SORTS, Queries, TokenQuery
from tokenward.store.rotation import register_token
from tokenward.web.state import StampCache

pytest_plugins = ["tests.conftest_pg"]

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SEVERITY = ("critical", "high", "medium", "low")
OWNERS = ("team-b", None, "team-a", "team-c")


def _token(i: int) -> dict[str, Any]:
    """A token row with deliberate ties: four severities, owners with gaps, last_seen shared by threes."""
    severity = SEVERITY[i * 7 % 4]
    return {"token_id": hashlib.sha256(b"%d" % i).hexdigest(), "provider": ("github", "aws", "slack")[i % 3],
            "kind": "key", "preview": f"tok_…{i:04d}", "confidence": "high", "severity": severity,
            "severity_rank": SEVERITY.index(severity), "owner": OWNERS[i * 5 % 4],
            "status": ("open", "open", "revoked")[i % 3], "first_seen": T0 + timedelta(hours=i % 5),
            "last_seen": T0 + timedelta(days=i // 3), "occurrences": i % 4, "source_kinds": "repo",
            "current": True}


def _stored(row: dict[str, Any]) -> dict[str, Any]:
    """The row as written: severity_rank is the database's to compute."""
    return {k: v for k, v in row.items() if k != "severity_rank"}


@pytest.fixture
def filled(db_url: str) -> Inventory:
    inv = Inventory.open(db_url)
    with inv.engine.begin() as conn:
        conn.execute(sa.insert(t.token), [_stored(_token(i)) for i in range(40)])
    return inv


def _reference(rows: list[dict[str, Any]], sort: str, descending: bool) -> list[str]:
    """The documented order: sort column, newest first, token id; descending is the exact reverse."""
    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        first = {"severity": r["severity_rank"], "owner": r["owner"] or ""}.get(sort, r.get(sort))
        newest = -(r["last_seen"] - T0).total_seconds()
        return (first, r["token_id"]) if sort == "last_seen" else (first, newest, r["token_id"])
    return [r["token_id"] for r in sorted(rows, key=key, reverse=descending)]


@pytest.mark.parametrize("kind", [Queries, DashboardQueries])
@pytest.mark.parametrize("descending", [False, True])
def test_every_sort_pages_through_the_reference_order(filled: Inventory, descending: bool, kind: type[Queries]
                                                      ) -> None:
    queries, rows = kind(filled), [_token(i) for i in range(40)]
    for sort in SORTS:
        pages = [queries.tokens(TokenQuery(sort=sort, descending=descending, page=p, per_page=7)) for p in range(1, 7)]
        got = [r.token_id for page in pages for r in page.items]
        assert got == _reference(rows, sort, descending), sort
        assert {page.total for page in pages} == {40} and pages[0].pages == 6
    filled.close()


def _marking(inventory: Inventory) -> DashboardQueries:
    """DashboardQueries remembering a row every 3 from the top of every listing (its defaults: 10^4 rows)."""
    return DashboardQueries(inventory, mark_from=0, mark_min_total=0, mark_every=3)


def _pages(queries: Queries, query: TokenQuery, per_page: int, order: list[int]) -> list[str]:
    """The token ids of pages fetched in the given order, put back in page order."""
    got = {p: [r.token_id for r in queries.tokens(replace(query, page=p, per_page=per_page)).items] for p in order}
    return [token_id for p in sorted(got) for token_id in got[p]]


@pytest.mark.parametrize("descending", [False, True])
def test_pages_sought_from_remembered_rows_keep_the_reference_order(filled: Inventory, descending: bool) -> None:
    queries, rows = _marking(filled), [_token(i) for i in range(40)]
    rng = random.Random(7)
    for sort in SORTS:
        query = TokenQuery(sort=sort, descending=descending)
        for per_page, pages in ((7, 6), (7, 6), (5, 8), (3, 14)):  # walked, then sought from the marks left
            order = rng.sample(range(1, pages + 1), pages)
            assert _pages(queries, query, per_page, order) == _reference(rows, sort, descending), (sort, per_page)
    assert len(queries.marks) == len(SORTS)  # one listing per sort, each with rows remembered
    filled.close()


def test_the_dashboard_reads_the_same_rows(filled: Inventory) -> None:
    query = TokenQuery(sort="first_seen", per_page=40)
    with filled.engine.begin() as conn:  # a status change time and an expiry: every timestamp column set
        conn.execute(sa.update(t.token).where(t.token.c.token_id == _token(3)["token_id"])
                     .values(expires_at=T0 + timedelta(days=9), status_changed_at=T0 + timedelta(days=1)))
    mine, reference = DashboardQueries(filled).tokens(query), Queries(filled).tokens(query)
    assert mine == reference and len(mine.items) == 40
    assert all(r.first_seen.tzinfo is not None for r in mine.items)
    filled.close()


def test_sought_pages_follow_filters_and_changes(filled: Inventory) -> None:
    queries, rows = _marking(filled), [_token(i) for i in range(40)]
    query = TokenQuery(status="open", sort="owner", descending=True)
    wanted = [r for r in rows if r["status"] == "open"]
    for _ in range(2):
        assert _pages(queries, query, 4, [3, 1, 7, 5, 2, 6, 4]) == _reference(wanted, "owner", True)
    gone = _reference(wanted, "owner", True)[9]
    filled.triage(gone, "revoked", "rotated", "tester", T0)  # a new stamp: the listing's marks are not reused
    queries.changed()
    expected = [i for i in _reference(wanted, "owner", True) if i != gone]
    assert _pages(queries, query, 4, [6, 2, 4, 1, 3, 5, 7]) == expected
    filled.close()


@pytest.mark.parametrize("kind", [Queries, DashboardQueries])
def test_filters_count_what_they_list(filled: Inventory, kind: type[Queries]) -> None:
    queries, rows = kind(filled), [_token(i) for i in range(40)]
    cases: list[tuple[TokenQuery, Any]] = [
        (TokenQuery(severity="high"), lambda r: r["severity"] == "high"),
        (TokenQuery(owner="team-a"), lambda r: r["owner"] == "team-a"),
        (TokenQuery(owner=NO_OWNER), lambda r: r["owner"] is None),
        (TokenQuery(owner="team-b", status="open", sort="occurrences"), lambda r: r["owner"] == "team-b"
         and r["status"] == "open"),
        (TokenQuery(provider="aws", severity="critical", sort="owner", descending=True),
         lambda r: r["provider"] == "aws" and r["severity"] == "critical"),
        (TokenQuery(search="…0012"), lambda r: r["preview"].endswith("0012")),
    ]
    for query, wanted in cases:
        page = queries.tokens(query)
        expected = _reference([r for r in rows if wanted(r)], query.sort, query.descending)
        assert (page.total, [r.token_id for r in page.items]) == (len(expected), expected), query
    filled.close()


def test_a_count_is_reused_until_the_inventory_changes(filled: Inventory) -> None:
    queries = Queries(filled)
    target = _token(0)["token_id"]
    assert queries.tokens(TokenQuery(status="revoked")).total == 13
    with filled.engine.begin() as conn:  # behind the stamp's back: the cached count stands
        conn.execute(sa.update(t.token).where(t.token.c.token_id == _token(2)["token_id"]).values(status="open"))
    assert queries.tokens(TokenQuery(status="revoked")).total == 13
    filled.triage(target, "revoked", "rotated by hand", "tester", T0)  # an audit event: a new stamp
    assert queries.tokens(TokenQuery(status="revoked")).total == 13 + 1 - 1
    assert queries.tokens(TokenQuery(status="open")).total == 27
    filled.close()


def _finding(i: int, confidence: str, environment: str | None) -> Finding:
    token_id = hashlib.sha256(b"w%d" % i).hexdigest()
    return Finding(rule_id="github.pat-classic", rule_name="GitHub PAT", provider="github", kind="pat-classic",
                   confidence=confidence, token_id=token_id, preview=f"ghp_…{i:04d}", public_id=None, public_ids=(),
                   origin=Origin("file", "/srv/app", f"conf/{i}.env"), location=Location(1, 1, 1, 41, 0, 40),
                   environment=environment)


def test_severity_rank_follows_every_writer(db_url: str) -> None:
    findings = [_finding(i, c, e) for i, (c, e) in enumerate([("high", "production"), ("low", None),
                                                              ("medium", "test"), ("high", None)])]
    recorder = ScanRecorder.open(db_url, bytes(range(32)), ["/srv/app"], "ruleset", 1)
    recorder.write(findings)
    recorder.inventory.close()
    with Inventory.open(db_url) as inv:
        found = Queries(inv).tokens(TokenQuery(search="CONF/2.ENV"))  # an occurrence path, any case
        assert [r.token_id for r in found.items] == [findings[2].token_id] and found.total == 1
        assert register_token(inv, "f" * 64, "aws", "access-key", "AKIA…WXYZ", T0)
        with inv.engine.connect() as conn:
            got = conn.execute(sa.select(t.token.c.severity, t.token.c.severity_rank)).all()
    assert len(got) == 5 and all(rank == t.severity_rank(severity) for severity, rank in got)
    assert {severity for severity, _ in got} - {"low"}, "every finding classified low: the test proves little"


def test_migration_0070_keeps_every_token_and_ranks_it(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    cfg = store_migrate.alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0060")
        old = [_stored(_token(i)) for i in range(40)]
        old[0]["severity"] = "unheard-of"
        conn.execute(sa.table("token", *(sa.column(k) for k in old[0])).insert(), old)
    engine.dispose()
    with Inventory.open(db_url) as inv:
        assert inv.revision() == store_migrate.SCHEMA_HEAD == "0070"
        with inv.engine.connect() as conn:
            got = dict(conn.execute(sa.select(t.token.c.token_id, t.token.c.severity_rank)).all())
            names = {i["name"] for i in sa.inspect(conn).get_indexes("token")}
    assert got == {r["token_id"]: t.severity_rank(r["severity"]) for r in old} and got[old[0]["token_id"]] == 4
    assert {"ix_token_severity_rank_sort", "ix_token_last_seen_sort", "ix_token_status_sort"} <= names
    assert not names & {"ix_token_status", "ix_token_provider"}


def test_stamp_cache_computes_once_for_concurrent_requests() -> None:
    cache, calls, lock = StampCache(ttl=60), [], threading.Lock()

    def slow() -> int:
        with lock:
            calls.append(1)
        time.sleep(0.2)
        return len(calls)

    got: list[int] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("summary", "s1", slow))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == [1] * 8 and len(calls) == 1
    assert cache.get("summary", "s2", slow) == 2  # a new stamp: computed again


def test_stamp_cache_serves_the_held_value_while_a_thread_refreshes_it() -> None:
    cache = StampCache(ttl=0)
    assert cache.get("choices", "s1", lambda: "first") == "first"
    started, release = threading.Event(), threading.Event()

    def refresh() -> str:
        started.set()
        release.wait(5)
        return "second"

    assert cache.get("choices", "s1", refresh) == "first"  # stale at the same stamp: no waiting
    assert started.wait(5)
    assert cache.get("choices", "s1", lambda: "third") == "first"  # one refresh at a time
    release.set()
    seen, deadline = "first", time.monotonic() + 5
    while seen == "first" and time.monotonic() < deadline:  # the refreshed value shows once the thread stored it
        time.sleep(0.01)
        seen = cache.get("choices", "s1", lambda: "later")
    assert seen == "second"
    assert cache.get("choices", "s2", lambda: "fifth") == "fifth"  # a new stamp: computed in the request
