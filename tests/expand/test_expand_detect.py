"""Format sniffing by content, the cheap path for plain text, forced source types and the CLI."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from tests import samples_archives as A
from tests import samples_exports as E
from tests.conftest import env_for
from tests.samples_base import Planter, scan_blobs
from tokenward.engine import Matcher
from tokenward.expand import ExpandOptions, expand, looks_like_container
from tokenward.expand.decode import base64_spellings, candidates
from tokenward.expand.detect import sniff
from tokenward.sources.interface import Blob, Origin, SkippedItem


def blob(name: str, data: bytes) -> Blob:
    return Blob(data, Origin("file", "/r", name))


def test_containers_are_recognised_by_magic_not_name() -> None:
    assert looks_like_container(A.zip_bytes({"a": b"x"}), "upload.dat")
    assert looks_like_container(A.tar_bytes({"a": b"x"}), "noext")
    assert looks_like_container(A.pdf_bytes(["x"]), "file.bin")
    assert looks_like_container(A.sqlite_bytes([("a", "b")]), "cache")
    assert not looks_like_container(b"\x00\x01ELF binary", "prog")
    assert not looks_like_container(b"print('hi')\n", "x.zip")


def test_exports_are_recognised_by_content() -> None:
    slack = json.dumps([{"type": "message", "user": "U1", "text": "hi", "ts": "1.2"}]).encode()
    assert sniff(slack, "download (3).txt") == "slack"
    assert sniff(b'{"issues": [{"key": "A-1", "fields": {}}]}', "x") == "jira-json"
    assert sniff(b"2024-01-02T03:04:05.1234567Z Starting\n", "raw") == "ci-log"
    assert sniff(b"Started by user admin\n", "consoleText") == "ci-log"
    assert sniff(b"From: a@b\nSubject: s\n\nbody", "message") == "email"
    assert sniff(b'{"cells": [{"cell_type": "code"}]}', "nb.json") == "notebook"
    assert sniff(b"def f():\n    return 1\n", "app.py") is None


def test_plain_text_passes_through_untouched() -> None:
    plain = blob("src/app.py", b"import os\nlong_identifier_name_without_meaning_at_all = os.environ\n" * 50)
    assert list(expand(plain)) == [plain]  # the very same object, nothing decoded


def test_decoding_ignores_binary_base64_and_hashes() -> None:
    b64 = base64.b64encode(os.urandom(600)).decode()
    text = f"integrity sha512-{b64}\nsha = {os.urandom(32).hex()}\n".encode()
    assert list(expand(blob("lock.json", text))) == [blob("lock.json", text)]
    assert candidates(text)[0] == []


def test_base64_spellings_cover_every_alignment() -> None:
    spellings = base64_spellings(b"ghp_")
    for prefix in (b"", b"a", b"ab"):
        encoded = base64.b64encode(prefix + b"ghp_" + b"xyz")
        assert any(s in encoded for s in spellings)


def test_forced_source_type(matcher: Matcher) -> None:
    token = Planter(seed=5).github("x")
    data = json.dumps([{"ts": "1704164645.000100", "user": "U1", "text": f"k {token}"}]).encode()
    assert sniff(data, "dump.json") is None  # no "type": "message": not recognised...
    out = scan_blobs(matcher, expand(blob("dump.json", data), ExpandOptions(source_type="slack")))
    assert dict(out.of(token)[0].origin.details)["channel"] == "#dump"  # ...but forced
    forced = list(expand(blob("a.zip", A.zip_bytes({"x": b"y"})), ExpandOptions(source_type="notebook")))
    reasons = [s.reason for s in forced if isinstance(s, SkippedItem)]
    assert reasons == ["not recognised as notebook input (scanned as plain text)"]
    plain = next(expand(blob("n.md", b"# T\nx\n"), ExpandOptions(source_type="plain")))
    assert isinstance(plain, Blob) and plain.origin.kind == "file"


def test_cli_scans_exports_with_provenance(tmp_path: Path, isolated_home: Path) -> None:
    p = Planter(seed=9)
    E.slack_zip(tmp_path / "in", p)
    A.docker_save(tmp_path / "in", p)
    (tmp_path / "in" / "bomb.zip").write_bytes(A.zip_bomb(32 << 20))
    proc = subprocess.run([sys.executable, "-m", "tokenward", "scan", "-q", "-f", "json", str(tmp_path / "in")],
                          capture_output=True, text=True, env=env_for(isolated_home), timeout=300)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    sources = {f["source"]["path"]: f["source"] for f in doc["findings"]}
    slack = sources["slack-export.zip!/general/2024-01-02.json"]
    assert slack["kind"] == "file" and slack["details"]["format"] == "slack"
    assert slack["details"]["channel"] == "#general"
    assert sources["api-image.tar!/l1/layer.tar!/app/.env"]["details"]["deleted_in_later_layer"] == "yes"
    found = {f["secret"] for f in doc["findings"] if "secret" in f} or {f["preview"] for f in doc["findings"]}
    assert len(found) >= len(p.planted["slack"]) + len(p.planted["image"]) - 1
    assert {"location": "bomb.zip!/zeros.txt", "reason": "compression ratio above 250 (possible zip bomb)",
            "severity": "policy"} in doc["skipped"]
    forced = subprocess.run([sys.executable, "-m", "tokenward", "scan", "-q", "--source-type", "nope", str(tmp_path)],
                            capture_output=True, text=True, env=env_for(isolated_home), timeout=300)
    assert forced.returncode == 2 and "unknown --source-type" in forced.stderr
