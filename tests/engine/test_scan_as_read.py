"""Plain files matched as read (Scanner.scan_items' short path) give exactly what expand() + matching gives."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.tokens import TokenFactory
from tokenward.engine import Matcher
from tokenward.expand import ExpandOptions
from tokenward.findings import Finding
from tokenward.identity import Fingerprinter
from tokenward.rules.spec import load_rules
from tokenward.scanner import Scanner, UnitResult, scan_ruleset
from tokenward.sources.filesystem import FilesystemSource
from tokenward.sources.interface import Blob


@pytest.fixture(scope="module")
def folded() -> Matcher:
    return Matcher(scan_ruleset(load_rules()))


def _scanner(matcher: Matcher) -> Scanner:
    return Scanner(matcher, Fingerprinter(b"k" * 32), show_secrets=True, jobs=1,
                   expand_options=ExpandOptions(probe=matcher.ruleset))


def _key(f: Finding) -> tuple[object, ...]:
    return (f.rule_id, f.secret, f.token_id, f.origin.path, f.origin.details, f.location)


def _corpus(root: Path) -> dict[str, str]:
    f = TokenFactory(23)
    tokens = {name: f.crc_base62("ghp_") for name in ("plain", "second", "encoded", "allowed", "utf16", "export")}
    filler = "".join(f"def f{i}(x):\n    return x * {i}\n" for i in range(400))  # > 8 KiB, no hit
    files = {
        "a/plain.py": f"{filler}\nGITHUB_TOKEN = '{tokens['plain']}'\nx = 1\nGH = '{tokens['second']}'\n",
        "a/nothing.py": filler,
        "a/empty.txt": "",
        "b/encoded.txt": "blob = " + base64.b64encode(f"token={tokens['encoded']}".encode()).decode() + "\n",
        "b/allowed.py": f"T = '{tokens['allowed']}'  # tokenward:allow\n",
        "b/export.json": json.dumps([{"type": "message", "ts": "1.0", "text": f"ghp {tokens['export']}"}]),
        "c/small.cfg": f"token: {tokens['plain']}\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "c" / "utf16.txt").write_bytes(f"TOKEN={tokens['utf16']}\n".encode("utf-16"))
    return tokens


def _scan(scanner: Scanner, root: Path) -> UnitResult:
    return scanner.scan_items(FilesystemSource(root))


def test_files_matched_as_read_find_what_expanding_them_finds(tmp_path: Path, folded: Matcher,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = _corpus(tmp_path)
    scanner = _scanner(folded)
    as_read = []
    real = Scanner._sniffed

    def sniffed(self: Scanner, blob: Blob) -> tuple[bool, str | None]:
        decided = real(self, blob)
        if decided == (True, None):
            as_read.append(blob.origin.path)
        return decided

    monkeypatch.setattr(Scanner, "_sniffed", sniffed)
    short = _scan(scanner, tmp_path)
    assert {"a/plain.py", "a/nothing.py", "b/encoded.txt", "c/utf16.txt"} <= set(as_read)
    monkeypatch.setattr(Scanner, "_sniffed", lambda self, blob: (False, None))  # every blob through expand()
    long = _scan(scanner, tmp_path)
    assert sorted(map(_key, short.findings), key=repr) == sorted(map(_key, long.findings), key=repr)
    assert [_key(f) for f in short.findings] == [_key(f) for f in long.findings]  # the same order too
    assert (short.blobs, short.nbytes, short.suppressed, short.skipped) == (
        long.blobs, long.nbytes, long.suppressed, long.skipped)
    found = {(f.secret, f.origin.path, f.location.line) for f in short.findings}
    assert (tokens["plain"], "a/plain.py", 802) in found and (tokens["second"], "a/plain.py", 804) in found
    assert any(f.secret == tokens["encoded"] and dict(f.origin.details).get("encoding") == "base64"
               for f in short.findings)
    assert any(f.secret == tokens["utf16"] and f.origin.path == "c/utf16.txt" for f in short.findings)
    assert any(f.secret == tokens["export"] for f in short.findings)  # the export still goes through expand()
    assert short.suppressed == {"inline comment": 1}
    assert not any(f.secret == tokens["allowed"] for f in short.findings)


def test_a_token_split_across_two_files_is_not_found(tmp_path: Path, folded: Matcher) -> None:
    token = TokenFactory(5).crc_base62("ghp_")
    (tmp_path / "a.txt").write_text(f"GITHUB_TOKEN={token[:20]}")
    (tmp_path / "b.txt").write_text(f"{token[20:]}\n")
    result = _scan(_scanner(folded), tmp_path)
    assert result.blobs == 2
    # a.txt's half is a generic value at most; the whole token is nowhere, and nothing is in b.txt
    assert not [f for f in result.findings if f.secret == token or f.origin.path == "b.txt"]
    assert not [f for f in result.findings if f.rule_id.startswith("github.")]
    (tmp_path / "c.txt").write_text(f"GITHUB_TOKEN={token}\n")
    found = _scan(_scanner(folded), tmp_path).findings
    assert [(f.origin.path, f.secret, f.location.column) for f in found if f.origin.path != "a.txt"] == [
        ("c.txt", token, 14)]


def test_the_short_path_keeps_the_one_pass_decoding_and_the_hit_offsets(folded: Matcher) -> None:
    token = TokenFactory(9).crc_base62("ghp_")
    data = b"x" * 5000 + f"\nkey = '{token}'\n".encode()
    hits = folded.hits(data)
    assert hits and all(end > 5000 for ends in hits.values() for end in ends)
    assert folded.scan(data, hits=hits) == folded.scan(data)
    assert folded.scan_extra(data, hits=hits) == folded.scan_extra(data)
    assert folded.hits(b"nothing to see here\n") == {}
