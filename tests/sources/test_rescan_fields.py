"""A rescan replays the recorded findings of the blobs it does not read again: its report must equal a
full pass's field for field (attributes, expiry, where the token lives, origin details, …). A cache an older
version wrote (records without those fields) is never replayed: the record format is part of the cache's key,
so every blob is read again once."""

from __future__ import annotations

import base64
import io
import json
import random
import sqlite3
import subprocess
import sys
import zipfile
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import env_for
from tests.sources import test_git_fixtures as fx
from tests.sources.test_git_fixtures import Repo, line
from tests.tokens import TokenFactory
from tokenward.engine import Matcher
from tokenward.findings import Finding, Location
from tokenward.sources.blobcache import cache_file, finding_from_record, finding_record
from tokenward.sources.interface import Origin
from tokenward.store import Inventory
from tokenward.store.blobcache import InventoryBlobCache

git_env, tokens, gh_matcher = fx.git_env, fx.tokens, fx.gh_matcher  # fixtures used here

# The keys of a record as the versions before attributes were kept wrote it.
OLD_KEYS = ("rule_id", "rule_name", "provider", "kind", "confidence", "token_id", "preview", "public_id",
            "public_ids", "location", "environment", "privilege")
SCOPES = pytest.mark.parametrize("scope", [(), ("--branch", "main")], ids=["history", "branch"])


def _armor(label: str, raw: bytes, headers: str = "") -> str:
    body = base64.b64encode(raw).decode()
    lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {label}-----\n{headers}{lines}\n-----END {label}-----\n"


def _keys(seed: int) -> dict[str, str]:
    """Private key blocks of random bytes behind the headers the pem_key check looks for."""
    rng = random.Random(seed)
    return {
        "keys/sign.asc": _armor("PGP PRIVATE KEY BLOCK", b"\x95\x01\xd8" + rng.randbytes(400), "\n"),  # tag 5
        "keys/plain.pem": _armor("PRIVATE KEY", b"\x30\x82\x04\xbd" + rng.randbytes(600)),
        "keys/locked.pem": _armor("ENCRYPTED PRIVATE KEY", b"\x30\x82\x02\xbd" + rng.randbytes(600)),
    }


def _history(path: Path, tokens: TokenFactory) -> Repo:
    """Several kinds of findings: private keys (attributes), a JWT (claims, expiry), a dotenv token
    (details, env-file), a base64-encoded one in a test fixture (encoding details, line offset)."""
    jwt = tokens.jwt({"sub": "u8x7Qa", "iss": "https://issuer.internal", "exp": 1900000000, "scope": "read"})
    encoded = base64.b64encode(line(tokens.github_classic()).encode()).decode()
    repo = Repo(path)
    repo.commit({**_keys(5), "app.py": f'TOKEN = "{jwt}"\n', ".env": f"GITHUB_TOKEN={tokens.github_classic()}\n",
                 "tests/conf.yml": f"name: ci\nblob: {encoded}\n", **{f"m{i}.txt": f"{i}\n" for i in range(5)}},
                "secrets")
    return repo


def _report(repo: Repo, home: Path, *args: str) -> dict[str, Any]:
    """The JSON report of `tokenward scan` over the repository."""
    out = repo.path.parent / "report.json"
    proc = subprocess.run([sys.executable, "-m", "tokenward", "scan", "-q", "--no-db", "-f", "json", "-o", str(out),
                           *args, str(repo.path)], capture_output=True, text=True, env=env_for(home), timeout=300)
    assert proc.returncode == 1, proc.stderr
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


def _findings(doc: dict[str, Any]) -> list[dict[str, Any]]:
    def key(f: dict[str, Any]) -> tuple[object, ...]:
        return f["token_id"], f["source"].get("blob_id") or "", f["location"]["line"], f["location"]["column"]
    return sorted(doc["findings"], key=key)


def _attributes(doc: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {f["rule_id"]: f["attributes"] for f in doc["findings"] if f["attributes"]}


def _leaves(value: object, at: str = "") -> dict[str, object]:
    """Every leaf of a JSON value by its dotted path: a difference names the field."""
    if isinstance(value, dict):
        return {k: v for name, item in value.items() for k, v in _leaves(item, f"{at}.{name}").items()} or {at: {}}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _leaves(item, f"{at}[{i}]").items()} or {at: []}
    return {at: value}


def _assert_same(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Equal findings, compared field by field."""
    a, b = _findings(got), _findings(want)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        mine, theirs = _leaves(x), _leaves(y)
        differ = {k: (mine.get(k), theirs.get(k)) for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k)}
        assert differ == {}, x["rule_id"]  # field: (got, want)


@SCOPES
def test_a_rescan_reports_the_findings_of_a_full_pass_field_for_field(
        tmp_path: Path, isolated_home: Path, tokens: TokenFactory, scope: tuple[str, ...]) -> None:
    repo = _history(tmp_path / "r", tokens)
    first = _report(repo, isolated_home, *scope)
    assert _attributes(first)["private-key.pgp"] == {"encrypted": "false"}
    assert _attributes(first)["private-key.pkcs8-encrypted"] == {"encrypted": "true"}
    repo.commit({"new.py": line(tokens.github_classic())}, "one more")
    rescan = _report(repo, isolated_home, *scope)
    full = _report(repo, isolated_home, *scope, "--full")
    assert rescan["summary"]["history"]["read"] == 1 < full["summary"]["history"]["read"]  # the rest replayed
    assert len(rescan["findings"]) == 7
    assert _attributes(rescan) == _attributes(full) and _attributes(rescan)["private-key.pgp"] == {"encrypted": "false"}
    _assert_same(rescan, full)
    again = _report(repo, isolated_home, *scope)  # everything replayed
    assert again["summary"]["history"]["read"] == 0
    _assert_same(again, full)


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_an_archive_committed_to_history_is_opened_and_its_members_keep_their_names(
        tmp_path: Path, isolated_home: Path, tokens: TokenFactory) -> None:
    """A zip once committed, then deleted: the token in its member is found at "bundle.zip!/config/prod.env",
    placed at the commit that added the zip, classed by the member's name; a rescan replays it unchanged."""
    secret = tokens.github_classic()
    bundle = _zip({"config/prod.env": f"GITHUB_TOKEN={secret}\n".encode(), "bin/tool.exe": b"MZ\x90\x00" * 4096})
    repo = Repo(tmp_path / "r")
    repo.commit({"README.md": "hi\n"}, "start")
    added = repo.commit({"release/bundle.zip": bundle}, "ship the bundle")
    repo.commit({"release/bundle.zip": None}, "drop the bundle")
    first = _report(repo, isolated_home)
    (found,) = first["findings"]
    assert found["source"]["path"] == "release/bundle.zip!/config/prod.env"
    assert found["source"]["git"]["first_commit"]["commit"] == added and found["where"] == "env-file"
    assert found["source"]["git"]["in_head"] is False
    assert {"reason": "binary content (1 archive members)"}.items() <= first["skipped"][0].items()
    repo.commit({"new.py": line(tokens.github_classic())}, "one more")
    rescan, full = _report(repo, isolated_home), _report(repo, isolated_home, "--full")
    assert rescan["summary"]["history"]["read"] == 1  # the zip's finding replayed from the cache
    _assert_same(rescan, full)


def _make_legacy(git_dir: Path) -> int:
    """Rewrite the cache as an older version wrote it: records without the fields kept since, under that
    version's key (rule set and fingerprint key check only); returns how many blobs the records hold."""
    with sqlite3.connect(cache_file(git_dir)) as db:
        rows = db.execute("SELECT rowid, record, blob_id, ruleset FROM findings").fetchall()
        for rowid, record, _, _ in rows:
            old = {k: v for k, v in json.loads(record).items() if k in OLD_KEYS}
            db.execute("UPDATE findings SET record = ? WHERE rowid = ?", (json.dumps(old), rowid))
        key = rows[0][3]
        legacy = f"{key.split(':')[0]}:{key.split(':')[-1]}"
        for table in ("findings", "scanned"):
            db.execute(f"UPDATE {table} SET ruleset = ?", (legacy,))
    with sqlite3.connect(cache_file(git_dir, "walk")) as db:  # a whole-history pass's walk state, if any
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'cache_key'").fetchone():
            db.execute("UPDATE cache_key SET key = ?", (legacy,))
    return len({blob for _, _, blob, _ in rows})


@SCOPES
def test_findings_an_older_version_recorded_are_read_again(
        tmp_path: Path, isolated_home: Path, tokens: TokenFactory, scope: tuple[str, ...]) -> None:
    repo = _history(tmp_path / "r", tokens)
    first = _report(repo, isolated_home, *scope)
    blobs = _make_legacy(repo.path / ".git")
    assert blobs == len(first["findings"]) == 6
    rescan = _report(repo, isolated_home, *scope)
    assert rescan["summary"]["history"]["read"] == first["summary"]["history"]["read"] > blobs  # all read again
    _assert_same(rescan, first)
    again = _report(repo, isolated_home, *scope)  # their records are current now
    assert again["summary"]["history"]["read"] == 0
    _assert_same(again, first)


def _every_field() -> Finding:
    """A finding with every field the cache must keep set to something other than its default."""
    origin = Origin("git", "/repo", "a.json", blob_id="b" * 40, details=(("format", "json"), ("key_path", "x.y")),
                    line_offset=3)
    return Finding("r.id", "R", "prov", "kind", "medium", "t" * 64, "ghp_…abcd", "pub", (("id", "pub"),),
                   origin, Location(4, 2, 4, 40, 77, 38), environment="production", privilege="admin",
                   expires_at="2030-01-01T00:00:00Z", where="config",
                   attributes=(("alg", "HS256"), ("encrypted", "false")))


def test_a_record_keeps_every_field_of_a_finding() -> None:
    f = _every_field()
    # A new field of Finding must be recorded (sources/blobcache.finding_record), or replays lose it.
    assert {x.name for x in fields(Finding)} == {*OLD_KEYS, "origin", "expires_at", "where", "attributes", "secret"}
    # The git source sets kind, root and path again, and provenance places it; the rest is recorded.
    assert {x.name for x in fields(Origin)} == {"kind", "root", "path", "blob_id", "details", "git", "line_offset"}
    back = finding_from_record(finding_record(replace(f, secret="never kept")), "b" * 40)
    assert back.secret is None and "never kept" not in finding_record(replace(f, secret="never kept"))
    want = replace(f, origin=Origin("git", "", "", blob_id="b" * 40, details=f.origin.details, line_offset=3))
    assert back == want


def test_the_record_format_is_part_of_the_cache_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from tokenward import codehash
    from tokenward.sources import blobcache

    key = codehash.incremental_key("rules", "opts", b"k" * 32)
    monkeypatch.setattr(blobcache, "RECORD_VERSION", blobcache.RECORD_VERSION + 1)
    assert codehash.incremental_key("rules", "opts", b"k" * 32) != key


def test_the_inventory_cache_replays_every_field(tmp_path: Path) -> None:
    f = _every_field()
    with Inventory.open(f"sqlite:///{tmp_path / 'inv.db'}") as inv:
        cache = InventoryBlobCache(inv, "scan1", "/repo")
        cache.record("rules:kcv", ["b" * 40, "c" * 40], [f])
        assert cache.scanned("rules:kcv", ["b" * 40, "c" * 40]) == {"b" * 40, "c" * 40}
        back = cache.findings("rules:kcv")["b" * 40][0]
        assert (back.attributes, back.expires_at, back.where, back.origin.details) == (
            f.attributes, f.expires_at, f.where, f.origin.details)



def test_show_secrets_reads_again_the_blobs_whose_findings_the_cache_holds(
        tmp_path: Path, isolated_home: Path, tokens: TokenFactory) -> None:
    """The cache keeps no plaintext: a rescan with --show-secrets reads the found blobs again (only those) and
    prints their secrets; a rescan without it replays them, secret-free, as before."""
    secret = tokens.github_classic()
    repo = Repo(tmp_path / "r")
    repo.commit({"app.py": line(secret), **{f"m{i}.txt": f"{i}\n" for i in range(5)}}, "leak")
    repo.commit({"app.py": "clean\n"}, "remove it")
    assert "secret" not in _report(repo, isolated_home)["findings"][0]  # the cache is filled
    proc = subprocess.run([sys.executable, "-m", "tokenward", "scan", "-q", "--no-db", "-f", "json", "--show-secrets",
                           str(repo.path)], capture_output=True, text=True, env=env_for(isolated_home), timeout=300)
    shown = json.loads(proc.stdout)
    assert [f["secret"] for f in shown["findings"]] == [secret]
    assert shown["summary"]["history"]["read"] == 1 and shown["summary"]["history"]["cached"] > 1
    again = _report(repo, isolated_home)
    assert again["summary"]["history"]["read"] == 0 and "secret" not in again["findings"][0]


def test_show_secrets_reads_the_caches_findings_once(tmp_path: Path, isolated_home: Path, tokens: TokenFactory,
                                                     gh_matcher: Matcher, monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-reading the found blobs, no blob left cached has findings: the cache's findings are read once (to
    learn which blobs to read again), not a second time to replay none."""
    from tokenward.sources.blobcache import SqliteBlobCache

    secret = tokens.github_classic()
    repo = Repo(tmp_path / "r")
    repo.commit({"app.py": line(secret), **{f"m{i}.txt": f"{i}\n" for i in range(3)}}, "leak")
    assert fx.of(fx.scan(repo.path, gh_matcher).findings, secret)  # fills the cache
    reads: list[str] = []
    findings = SqliteBlobCache.findings

    def counted(self: SqliteBlobCache, ruleset: str) -> dict[str, list[Finding]]:
        reads.append(ruleset)
        return findings(self, ruleset)

    monkeypatch.setattr(SqliteBlobCache, "findings", counted)
    again = fx.scan(repo.path, gh_matcher, reread_found=True)
    assert fx.of(again.findings, secret) and again.result.summary.history["read"] == 1
    assert len(reads) == 1
