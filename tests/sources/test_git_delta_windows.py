"""Delta windows (issue 13): a blob that a pack stores as a small delta is matched only around what the
delta changes in its base, and matched whole again when that base turns out to hold a match. Whatever
happens, the findings are exactly those of matching every byte (`--whole-blobs`)."""

from __future__ import annotations

import io
import random
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from tests.sources import test_git_fixtures as fx
from tests.sources.test_git_fixtures import Repo, of, scan
from tests.tokens import provider_tokens
from tokenward.engine import Matcher
from tokenward.findings import Finding
from tokenward.identity import Fingerprinter, load_key
from tokenward.rules.model import REACH
from tokenward.scanner import Scanner
from tokenward.sources.gitdelta import changed_windows
from tokenward.sources.interface import Blob, Origin

git_env = fx.git_env  # fixture used here

WORDS = ("count", "index", "buffer", "offset", "length", "cursor", "result", "limit", "node", "entry")


def _key(f: Finding) -> tuple[object, ...]:
    git = f.origin.git
    assert git is not None
    return (f.token_id, f.rule_id, f.origin.path, f.origin.blob_id, f.location, git.first_commit, git.paths,
            git.in_head)


def _code(rnd: random.Random, n: int) -> list[str]:
    """n lines of plausible, token-free source code (≈ 45 bytes each)."""
    return [f"    {rnd.choice(WORDS)}_{i} = update({rnd.choice(WORDS)}, {rnd.randrange(10**6)});\n" for i in range(n)]


def _history(path: Path, repack: bool = True) -> tuple[Repo, dict[str, str]]:
    """Twenty versions of three large files with small edits; tokens added, kept and removed."""
    rnd, planted = random.Random(5), provider_tokens(31)
    lines, config, clean = _code(rnd, 1500), _code(rnd, 600), _code(rnd, 800)
    config[300] = planted["github.pat-classic"] + "\n"  # in every version: each base holds a match
    config[500] = planted["gitlab.pat"] + "  # tokenward:allow\n"  # suppressed, near the config's edits
    keep, gone, late = planted["gitlab.pat"], planted["slack.bot-token"], planted["stripe.secret-key-live"]
    repo = Repo(path)
    for version in range(20):
        for _ in range(rnd.randrange(1, 4)):  # a few edits anywhere
            lines[rnd.randrange(len(lines))] = _code(rnd, 1)[0]
        config[rnd.randrange(400, 600)] = _code(rnd, 1)[0]
        clean[rnd.randrange(len(clean))] = _code(rnd, 1)[0]  # never holds a token: its deltas stay windowed
        if version == 3:
            lines.insert(700, keep + "\n")  # kept to the end: later versions copy it from their bases
        if version == 6:
            lines.insert(100, gone + "\n")
        if version == 9:
            lines.remove(gone + "\n")
        if version == 15:
            lines.insert(1400, late + "\n")
        repo.commit({"src/main.c": "".join(lines), "etc/config.ini": "".join(config), "src/util.c": "".join(clean)},
                    f"v{version}")
    if repack:
        repo.git("repack", "-a", "-d", "-f", "--window=50", "--depth=50", "-q")
    lines_of = {"keep": keep, "gone": gone, "late": late, "config": planted["github.pat-classic"]}
    return repo, {name: assignment.split("=", 1)[1] for name, assignment in lines_of.items()}


@pytest.mark.parametrize("jobs", [1, 2])
def test_windowed_scan_finds_exactly_what_a_whole_blob_scan_finds(tmp_path: Path, matcher: Matcher,
                                                                   jobs: int) -> None:
    repo, planted = _history(tmp_path / "r")
    windowed = scan(repo.path, matcher, jobs=jobs, full=True)
    whole = scan(repo.path, matcher, jobs=jobs, full=True, whole_blobs=True)
    assert Counter(map(_key, windowed.findings)) == Counter(map(_key, whole.findings))
    # A suppression in a blob matched again whole is counted once, as a whole-blob scan counts it.
    assert windowed.result.summary.suppressed == whole.result.summary.suppressed
    assert whole.result.summary.suppressed
    counters = windowed.source.counters
    # Both paths ran: blobs whose base was clean stayed windowed, the config's versions were revisited.
    assert counters.windowed > 0 and counters.revisited > 0
    assert whole.source.counters.windowed == whole.source.counters.revisited == 0
    # The counters reach the scan's summary (and so the JSON report and the text summary line).
    history = windowed.result.summary.history
    assert (history["windowed"], history["revisited"]) == (counters.windowed, counters.revisited)
    assert history["read"] == history["enumerated"] == counters.enumerated > 0 and history["from_git"] == 0
    for name, token in planted.items():
        assert of(windowed.findings, token), name


def test_a_rescan_after_a_new_commit_keeps_the_findings(tmp_path: Path, matcher: Matcher) -> None:
    repo, planted = _history(tmp_path / "r")
    scan(repo.path, matcher)
    main = (repo.path / "src" / "main.c").read_text().replace(planted["keep"], "removed")
    repo.commit({"src/main.c": main}, "drop the kept token")
    again = scan(repo.path, matcher)
    full = scan(repo.path, matcher, full=True, whole_blobs=True)
    assert Counter(map(_key, again.findings)) == Counter(map(_key, full.findings))


def test_loose_objects_are_matched_whole(tmp_path: Path, matcher: Matcher) -> None:
    repo, planted = _history(tmp_path / "r", repack=False)
    result = scan(repo.path, matcher, full=True)
    assert result.source.counters.windowed == result.source.counters.revisited == 0
    assert of(result.findings, planted["late"])


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _copy(start: int, length: int) -> bytes:
    op, args = 0x80, bytearray()
    for i in range(4):
        if (start >> 8 * i) & 0xFF:
            op, args = op | 1 << i, args + bytes([(start >> 8 * i) & 0xFF])
    for i in range(3):
        if (length >> 8 * i) & 0xFF:
            op, args = op | 1 << (4 + i), args + bytes([(length >> 8 * i) & 0xFF])
    return bytes([op]) + bytes(args)


def test_windows_are_the_inserts_and_the_seams_where_the_base_is_not_continued() -> None:
    # base 300 bytes; blob = base[0:100] + 5 new bytes + base[200:250] + base[250:300]
    delta = _varint(300) + _varint(205) + _copy(0, 100) + b"\x05abcde" + _copy(200, 50) + _copy(250, 50)
    assert changed_windows(delta, 205, reach=0) == ((100, 105),)  # the seam at 105 joins the insert
    assert changed_windows(delta, 205, reach=3) == ((97, 108),)
    # a copy that does not start the base, and one that does not end it, are seams too
    assert changed_windows(_varint(300) + _varint(50) + _copy(10, 50), 50, reach=0) == ((0, 0), (50, 50))
    assert changed_windows(_varint(300) + _varint(300) + _copy(0, 300), 300) == ()
    assert changed_windows(delta, 999) is None  # the delta does not produce a blob of that size
    assert changed_windows(_varint(300) + _varint(5) + b"\x00", 5) is None  # reserved instruction
    assert changed_windows(delta[:-1], 205) is None  # truncated
    # changes within reach of either end: the windows stop at the blob's edges
    edges = _varint(50_000) + _varint(50_000) + b"\x02ab" + _copy(2, 49_990) + _copy(40_000, 8)
    assert changed_windows(edges, 50_000, reach=100) == ((0, 102), (49_892, 50_000))
    assert changed_windows(edges, 50_000, reach=30_000) is None  # covers it all


def test_windows_reach_far_enough_and_give_way_to_whole_blobs() -> None:
    size = 200_000
    one = _varint(size) + _varint(size) + _copy(0, 100_000) + b"\x0a" + b"x" * 10 + _copy(100_010, 99_990)
    assert changed_windows(one, size) == ((100_000 - REACH, 100_010 + REACH),)
    near = _varint(size) + _varint(size) + _copy(0, 50_000) + b"\x01x" + _copy(50_001, REACH) \
        + b"\x01y" + _copy(50_002 + REACH, size - 50_002 - REACH)
    assert changed_windows(near, size) == ((50_000 - REACH, 50_002 + 2 * REACH),)  # merged
    spread = _varint(size) + _varint(size) + b"".join(
        _copy(at, REACH) + b"\x01z" for at in range(0, size - REACH, REACH + 1))
    assert changed_windows(spread, len(range(0, size - REACH, REACH + 1)) * (REACH + 1)) is None  # most of it


def _random_history(path: Path, seed: int, edges: bool = False) -> Repo:
    """Versions of two large files where tokens of many rules (generic ones too) come and go at random
    places, and edits land anywhere (with `edges`, only near a file's start or end): right next to a
    token, a window's reach away, or far off."""
    rnd = random.Random(seed)
    assignments = list(provider_tokens(seed).values())
    assignments += [f'db_password = "{rnd.randrange(10**12)}Xq{rnd.randrange(10**9)}"',
                    f"#define API_SECRET_KEY {rnd.randrange(10**15)}abc{rnd.randrange(10**8)}"]
    files = {"a/big.c": _code(rnd, 1200), "b/other.py": _code(rnd, 700)}
    repo = Repo(path)
    for _ in range(16):
        for lines in files.values():
            for _ in range(rnd.randrange(1, 4)):
                at = rnd.randrange(len(lines))
                if edges:
                    at = rnd.choice((rnd.randrange(40), len(lines) - 1 - rnd.randrange(40)))
                roll = rnd.random()
                if roll < 0.2:
                    lines.insert(at, rnd.choice(assignments) + "\n")
                elif roll < 0.35:
                    holding = [i for i, text in enumerate(lines) if "=" in text and "update(" not in text]
                    if holding:
                        del lines[rnd.choice(holding)]
                else:
                    lines[at] = _code(rnd, 1)[0]
        repo.commit({name: "".join(lines) for name, lines in files.items()})
    repo.git("repack", "-a", "-d", "-f", "--window=50", "--depth=50", "-q")
    return repo


@pytest.mark.parametrize(("seed", "edges"), [(1, False), (4, False), (14, False), (1, True), (11, True), (28, True)])
def test_random_histories_give_the_same_findings_either_way(tmp_path: Path, matcher: Matcher, seed: int,
                                                            edges: bool) -> None:
    # Each seed keeps some blobs windowed and revisits others.
    repo = _random_history(tmp_path / "r", seed, edges)
    windowed = scan(repo.path, matcher, full=True)
    whole = scan(repo.path, matcher, full=True, whole_blobs=True)
    assert windowed.findings and Counter(map(_key, windowed.findings)) == Counter(map(_key, whole.findings))
    assert windowed.source.counters.windowed and windowed.source.counters.revisited


def test_a_blob_not_matched_as_it_is_vouches_for_no_delta(matcher: Matcher) -> None:
    # An archive's bytes are not matched as they are (its members are): a delta copied from it must
    # not rest on it, so the scan counts it with the blobs that had a match.
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("notes.txt", "nothing to see here\n" * 50)
    scanner = Scanner(matcher, Fingerprinter(load_key()), jobs=1)
    archive_blob = Blob(packed.getvalue(), Origin("git", "/r", "a.zip", blob_id="a" * 40))
    text_blob = Blob(b"nothing to see here\n" * 50, Origin("git", "/r", "a.txt", blob_id="b" * 40))
    assert scanner.scan_items([archive_blob]).matched == {"a" * 40}
    assert scanner.scan_items([text_blob]).matched == frozenset()
