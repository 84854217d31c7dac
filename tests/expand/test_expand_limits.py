"""Hostile and damaged inputs: every one is bounded, counted as a skip with its reason, and the rest is scanned."""

from __future__ import annotations

import io
import json
import os
import tarfile
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from tests import samples_archives as A
from tests.samples_base import Planter, scan_blobs, scan_path
from tokenward.engine import Matcher
from tokenward.expand import ExpandOptions, Limits, expand
from tokenward.sources.interface import Blob, Origin, SkippedItem


@pytest.fixture
def planter() -> Planter:
    return Planter(seed=202)


def blob(name: str, data: bytes) -> Blob:
    return Blob(data, Origin("file", "/samples", name))


def items(name: str, data: bytes, **limits: int) -> list[Blob | SkippedItem]:
    return list(expand(blob(name, data), ExpandOptions(limits=Limits(**limits))))


def skips(found: list[Blob | SkippedItem]) -> list[tuple[str, str, str]]:
    return [(s.location, s.reason, s.severity) for s in found if isinstance(s, SkippedItem)]


def test_zip_bomb_member_stops_at_the_ratio(matcher: Matcher, planter: Planter) -> None:
    token = planter.github("limits")
    data = A.zip_bytes({"ok.env": f"GITHUB_TOKEN={token}\n".encode()})
    bomb = A.zip_bomb(64 << 20)
    outer = A.zip_bytes({"bomb.zip": bomb, "ok.zip": data}, zipfile.ZIP_STORED)
    tracemalloc.start()
    found = items("bomb.zip", outer)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    reason = "compression ratio above 250 (possible zip bomb)"
    assert skips(found) == [("bomb.zip!/bomb.zip!/zeros.txt", reason, "policy")]
    assert peak < 24 << 20  # never inflated to 64 MiB
    assert scan_blobs(matcher, found).of(token)  # the sibling archive is still scanned


def test_binary_members_are_skipped_from_their_head(matcher: Matcher, planter: Planter) -> None:
    """A member whose first bytes say binary (and no format to open) is counted and never inflated further: a
    NUL-filled bomb costs 8 KiB; text, UTF-16 text and a nested archive beside it are read as before."""
    text, wide, inner = (planter.github("limits") for _ in range(3))
    outer = A.zip_bytes({
        "nul.bin": A.zip_bomb(64 << 20, fill=b"\0"),  # a zip: opened, its NUL-filled member skipped
        "tool.exe": b"MZ\x90\x00" + os.urandom(300_000),
        "ok.env": f"GITHUB_TOKEN={text}\n".encode(),
        "wide.txt": f"token: {wide}\n".encode("utf-16"),
        "nested.zip": A.zip_bytes({"inner.env": f"GITHUB_TOKEN={inner}\n".encode()}),
    })
    tracemalloc.start()
    found = items("mixed.zip", outer)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert skips(found) == [("mixed.zip", "binary content (2 archive members)", "policy")]
    assert peak < 8 << 20  # neither the 64 MiB nor the 300 kB member was inflated whole
    out = scan_blobs(matcher, found)
    assert all(out.of(t) for t in (text, wide, inner))


def test_nested_bomb_stops_at_the_total_ratio() -> None:
    layer = A.zip_bomb(8 << 20)
    for _ in range(2):
        layer = A.zip_bytes({f"{i}.zip": layer for i in range(10)})
    found = items("42.zip", layer)
    reasons = [r for _, r, _ in skips(found)]
    assert reasons == ["compression ratio above 250 (possible zip bomb; rest not read)"]


def test_total_bytes_and_entry_limits() -> None:
    many = A.zip_bytes({f"f{i}.txt": b"x" * 1000 for i in range(50)})
    reasons = [r for _, r, _ in skips(items("many.zip", many, max_entries=10))]
    assert reasons == ["too many entries (> 10; rest not read)"]
    reasons = [r for _, r, _ in skips(items("many.zip", many, max_total_bytes=20_000))]
    assert reasons == ["archive total too large (> 20000 bytes inflated; rest not read)"]
    big = A.zip_bytes({"big.txt": os.urandom(150_000).hex().encode()})  # text: a binary member stops at its head
    reason = skips(items("big.zip", big, max_member_bytes=100_000))[0][1]
    assert reason == "archive member too large (> 100000 bytes inflated)"


def test_nesting_depth_limit(matcher: Matcher, planter: Planter) -> None:
    token = planter.github("limits")
    deep = A.nested_zip(token, 12)
    found = items("deep.zip", deep)
    assert [r for _, r, _ in skips(found)] == ["nested too deep (more than 8 containers)"]
    assert not scan_blobs(matcher, found).of(token)
    assert scan_blobs(matcher, items("deep.zip", deep, max_depth=12)).of(token)


def test_traversal_names_are_scanned_in_memory(tmp_path: Path, matcher: Matcher, planter: Planter) -> None:
    t1, t2 = planter.github("limits"), planter.github("limits")
    names = {"../../escaped/.env": f"T={t1}\n".encode(), "/etc/tokenward-abs.env": f"T={t2}\n".encode()}
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "evil.zip").write_bytes(A.zip_bytes(names))
    (tmp_path / "in" / "evil.tar").write_bytes(A.tar_bytes({"../../escaped2/.env": f"T={t1}\n".encode()}))
    before = set(tmp_path.rglob("*"))
    out = scan_path(matcher, tmp_path / "in")
    assert set(tmp_path.rglob("*")) == before and not Path("/etc/tokenward-abs.env").exists()
    assert {f.origin.path for f in out.findings} == {"evil.zip!/../../escaped/.env", "evil.zip!//etc/tokenward-abs.env",
                                                     "evil.tar!/../../escaped2/.env"}


def test_encrypted_archives_are_counted(matcher: Matcher, planter: Planter, tmp_path: Path) -> None:
    import py7zr

    found = items("enc.zip", A.encrypted_zip(planter.github("limits")))
    assert skips(found) == [("enc.zip!/secret.env", "encrypted archive member (no password; not scanned)", "error")]
    assert any(isinstance(b, Blob) and b.origin.path == "enc.zip!/readme.txt" for b in found)
    path = tmp_path / "enc.7z"
    with py7zr.SevenZipFile(path, "w", password="pw", header_encryption=True) as z:
        z.writestr(b"T=x\n", "a.env")
    reasons = [r for _, r, _ in skips(items("enc.7z", path.read_bytes()))]
    assert reasons == ["encrypted archive (no password; not scanned)"]


def test_truncated_archives_keep_what_precedes_the_damage(matcher: Matcher, planter: Planter) -> None:
    t1, t2 = planter.github("limits"), planter.github("limits")
    tar = A.tar_bytes({"a.env": f"T={t1}\n".encode(), "b.bin": os.urandom(20_000), "c.env": f"T={t2}\n".encode()})
    cut = tar[:len(tar) // 2]
    found = items("cut.tar", cut)
    assert scan_blobs(matcher, found).of(t1) and not scan_blobs(matcher, found).of(t2)
    assert [(loc, sev) for loc, _, sev in skips(found)] == [("cut.tar!/b.bin", "error")]
    zipped = A.zip_bytes({"a.env": f"T={t1}\n".encode()})
    assert skips(items("cut.zip", zipped[:-30]))[0][1].startswith("corrupt or truncated zip")
    import gzip
    gz = gzip.compress(f"T={t1}\n".encode() + os.urandom(50_000).hex().encode())
    found = items("cut.log.gz", gz[:-200])
    assert scan_blobs(matcher, found).of(t1)  # the part before the cut is scanned
    assert skips(found)[0][1].startswith("truncated or corrupt compressed data") and skips(found)[0][2] == "error"


def test_truncated_and_corrupt_pdf_and_sqlite(matcher: Matcher, planter: Planter) -> None:
    pdf = A.pdf_bytes(["one", f"token {planter.github('limits')}"])
    found = items("cut.pdf", pdf[: len(pdf) // 3])
    reasons = skips(found)
    assert len(reasons) == 1 and reasons[0][2] == "error" and "PDF" in reasons[0][1]
    garbage = b"SQLite format 3\x00" + os.urandom(3000)
    assert skips(items("bad.db", garbage))[0][1].startswith("corrupt SQLite database")


def test_malformed_exports_scan_what_they_can(matcher: Matcher, planter: Planter) -> None:
    t1, t2 = planter.github("limits"), planter.github("limits")
    good = json.dumps([{"type": "message", "user": "U1", "ts": "1704164645.000100", "text": f"k {t1}"}])
    broken = good[:-1] + ', {"type": "message", "ts": "17041", "text": "x" ' + f'GARBAGE {t2} ]'
    found = items("general/2024-01-02.json", broken.encode())
    out = scan_blobs(matcher, found)
    assert out.details(t1)["channel"] == "#general"
    assert out.details(t2) == {"part": "unparsed remainder"}
    assert skips(found)[0][1].startswith("malformed Slack export JSON: malformed JSON after 1 elements")
    jira = b'{"issues": [{"key": "OPS-1", "fields": {"summary": "' + t2.encode() + b'"'
    found = items("search.json", jira)
    assert skips(found)[0][1].startswith("malformed Jira JSON") and scan_blobs(matcher, found).of(t2)
    nb = b'{"cells": [{"cell_type": "code", "source": "' + t1.encode() + b'"}'
    found = items("x.ipynb", nb)
    assert skips(found)[0][1].startswith("malformed notebook JSON") and scan_blobs(matcher, found).of(t1)


def test_xml_with_entity_declarations_is_not_parsed(matcher: Matcher, planter: Planter) -> None:
    token = planter.github("limits")
    lol = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
           b"<entity-engine-xml><Issue key='X-1' summary='" + token.encode() + b"'/></entity-engine-xml>")
    found = items("entities.xml", lol)
    assert skips(found)[0][1] == "malformed Jira XML: XML declares entities; not parsed"
    assert scan_blobs(matcher, found).of(token)  # still scanned as plain text


def test_enormous_slack_channel_is_streamed(matcher: Matcher, planter: Planter) -> None:
    token = planter.github("limits")
    buf = io.BytesIO()
    filler = "lorem ipsum dolor sit amet " * 24
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("users.json", "[]")
        zf.writestr("channels.json", '[{"id": "C9", "name": "firehose"}]')
        with zf.open("firehose/2024-01-02.json", "w") as f:
            f.write(b"[")
            for i in range(30_000):
                text = f"k {token}" if i == 29_999 else f"{filler}{i}"
                msg = {"type": "message", "user": "U1", "ts": f"1704164645.{i:06d}", "text": text}
                f.write(json.dumps(msg).encode())
                f.write(b",\n" if i < 29_999 else b"]")
    data = buf.getvalue()
    tracemalloc.start()
    count = 0
    last = None
    for item in expand(blob("slack.zip", data)):
        count += 1
        last = item
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == 30_002 and isinstance(last, Blob)  # + users.json and channels.json as files
    assert token.encode() in last.data
    assert peak < 12 << 20, peak  # the day file inflates to ~20 MB; memory stays flat


def test_tar_member_names_are_labels(matcher: Matcher) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        link = tarfile.TarInfo("link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(link)
    got = items("links.tar", buf.getvalue())  # links are not followed nor read, but counted as skipped
    assert [(type(i).__name__, getattr(i, "severity", None)) for i in got] == [("SkippedItem", "policy")]
