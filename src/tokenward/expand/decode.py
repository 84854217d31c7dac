"""Encoded content: find base64, hex, URL-encoded and escaped runs that decode to text, and scan that text.

One Hyperscan pass over literals finds candidates cheaply: the base64 spellings (at each of the three
byte alignments) and hex spellings of token keywords (`ghp_`, `xoxb-`, `password`, …), plus the
literal starts of `Basic ` auth, data URIs, docker `"auth"` fields, `%XX` and `\\uXXXX` runs. Only
the run around a hit is decoded, and only text is kept, so ordinary files cost one fast pass.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any
from urllib.parse import unquote_to_bytes

import hyperscan

from tokenward.rules import diskcache
from tokenward.sources.interface import Blob, Origin, SkippedItem

# Token prefixes and context words whose encoded forms mark a candidate (rule-set keywords can be
# passed instead; see ExpandOptions.keywords).
DEFAULT_KEYWORDS = (
    "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "gldt-", "glrt-", "xoxb-", "xoxp-", "xoxa-",
    "xoxe", "xapp-", "hooks.slack.com", "sk_live_", "sk_test_", "rk_live_", "AKIA", "ASIA", "AIza", "sk-proj-",
    "sk-ant-", "sk-", "hf_", "npm_", "pypi-", "dckr_pat_", "SG.", "shpat_", "shpss_", "dop_v1_", "dapi", "hvs.",
    "glsa_", "lin_api_", "PMAK-", "NRAK-", "pul-", "r8_", "gsk_", "figd_", "sntrys_", "dp.pt.", "AGE-SECRET-KEY",
    "PRIVATE KEY", "eyJ", "password", "passwd", "secret", "token", "api_key", "apikey", "api-key", "bearer",
    "authorization", "credential", "://",
)
B64_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_"
HEX_CHARS = b"0123456789abcdefABCDEF"
PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\n\r"
MIN_TEXT = 12  # decoded bytes: shorter text cannot hold a token
MAX_RUNS = 2000  # candidate runs examined per blob
MAX_RUN = 8 << 20  # one encoded run
WINDOW = 4096
ESCAPE = re.compile(rb"\\u(00[2-7][0-9a-fA-F])|\\x([2-7][0-9a-fA-F])")  # escapes of printable ASCII
PERCENT = re.compile(rb"%[0-9A-Fa-f]{2}")
WORD_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+/=.:~-"
WORD_TAIL = re.compile(rb"[A-Za-z0-9_+/=.:~-]{0,256}")
MAX_GAP = 64
TAIL = re.compile(rb"[A-Za-z0-9+/_-]*={0,2}")
RUN, ESCAPES, PERCENTS = 0, 1, 2
# The percent gate: two escapes at most 12 word characters apart, the first of printable ASCII, tab, CR
# or LF (a run decoding to anything else is not text). Hyperscan only finds such an escape followed by a
# word character or another escape (a literal-led, engine-free expression); PERCENT_GATE confirms the
# pair in Python, in the few blobs where that fired. `%` alone (the start of every printf format) woke
# the whole gate's automaton 2,400 times per MB of C source: a sixth of the rule database's time.
PRINTABLE_ESCAPE = rb"%(?:[2-7][0-9A-Fa-f]|0[9ADad])"
PERCENT_GATE = re.compile(PRINTABLE_ESCAPE + rb"[A-Za-z0-9._~+/=-]{0,12}%[0-9A-Fa-f]{2}")
GATES = ((rb"(?:\\u00[2-7][0-9a-fA-F]|\\x[2-7][0-9a-fA-F]){3}", ESCAPES),
         (PRINTABLE_ESCAPE + rb"[A-Za-z0-9._~+/=%-]", PERCENTS))
RUN_STARTS = (rb"(?i)basic\s+[A-Za-z0-9+/]{12}", rb";base64,[A-Za-z0-9+/]{12}", rb'"auth"\s*:\s*"[A-Za-z0-9+/]{12}')


def base64_spellings(word: bytes) -> set[bytes]:
    """The base64 characters that spell word whatever bytes surround it (one string per byte alignment)."""
    out = set()
    for align in range(3):
        encoded = base64.b64encode(b"\0" * align + word)
        spelled = encoded[-(-align * 8 // 6): (align + len(word)) * 8 // 6]
        if len(spelled) >= 4:
            out |= {spelled, spelled.replace(b"+", b"-").replace(b"/", b"_")}
    return out


def literals(keywords: tuple[str, ...]) -> list[bytes]:
    """Hyperscan literals for the base64 and hex spellings of each keyword (4+ bytes) in three cases."""
    out: set[bytes] = set()
    for keyword in keywords:
        for word in {keyword, keyword.lower(), keyword.upper()}:
            raw = word.encode()
            if len(raw) >= 4:
                hexed = {raw.hex().encode(), raw.hex().upper().encode()}
                out |= base64_spellings(raw) | hexed | base64_spellings(raw.hex().encode())
    return sorted(out)


def _literal_database(lits: list[bytes]) -> Any:
    """Compile the literals (≈1 s for a thousand), or load them from the rule cache (rules/diskcache.py)."""
    key = hashlib.sha256(repr((lits, getattr(hyperscan, "__version__", "?"))).encode()).hexdigest()[:24]
    name = f"hs-decode-{key}.db"
    blob = diskcache.read(name)
    if blob is not None:
        try:
            db = hyperscan.loadb(blob, hyperscan.HS_MODE_BLOCK)
            db.scratch = hyperscan.Scratch(db)
            return db
        except (hyperscan.error, ValueError, TypeError):
            pass  # a stale or corrupt entry is simply rebuilt
    db = hyperscan.Database()
    db.compile(expressions=lits, ids=[RUN] * len(lits), elements=len(lits), flags=0, literal=True)
    diskcache.write(name, hyperscan.dumpb(db))
    return db


def run_expressions() -> list[tuple[bytes, int, int]]:
    """(Hyperscan regex, flags, kind) of every candidate finder but the keyword spellings: literal-led
    run starts (RUN) and the escape/percent gates."""
    starts = [(pattern, 0, RUN) for pattern in RUN_STARTS]
    return starts + [(pattern, hyperscan.HS_FLAG_SINGLEMATCH, kind) for pattern, kind in GATES]


@cache
def expressions(keywords: tuple[str, ...] = DEFAULT_KEYWORDS) -> tuple[tuple[bytes, int, int], ...]:
    """Every candidate finder as (Hyperscan regex, flags, kind): what the scan folds into the rule
    database so that each byte is read by Hyperscan once (see engine.Matcher.scan_encoded)."""
    spellings = [(re.escape(lit), 0, RUN) for lit in literals(keywords)]
    return tuple(spellings + run_expressions())


@cache
def _databases(keywords: tuple[str, ...]) -> tuple[Any, Any]:
    """The candidate finders for a keyword set (literal spellings; literal-led patterns), once per process."""
    finders = run_expressions()
    starts = hyperscan.Database()
    starts.compile(expressions=[p for p, _, _ in finders], ids=[k for _, _, k in finders], elements=len(finders),
                   flags=[f for _, f, _ in finders])
    return _literal_database(literals(keywords)), starts


def looks_like_text(data: bytes) -> bool:
    """True when decoded bytes are printable ASCII text long enough to hold a token."""
    return len(data) >= MIN_TEXT and data.isascii() and len(data.translate(None, PRINTABLE)) * 20 <= len(data)


def decode_run(run: bytes) -> tuple[str, bytes] | None:
    """(encoding, text) for a base64 or hex run that decodes to text, else None."""
    if len(run) % 2 == 0 and not run.strip(HEX_CHARS):
        try:
            decoded = bytes.fromhex(run.decode("ascii"))
        except ValueError:
            return None
        return ("hex", decoded) if looks_like_text(decoded) else None
    body = run.rstrip(b"=")
    urlsafe = b"-" in body or b"_" in body
    if urlsafe and (b"+" in body or b"/" in body):
        return None
    try:
        padded = body + b"=" * (-len(body) % 4)
        decoded = base64.b64decode(padded, b"-_" if urlsafe else None, validate=True)
    except (binascii.Error, ValueError):
        return None
    return ("base64", decoded) if looks_like_text(decoded) else None


def _run_start(data: bytes, end: int) -> int:
    width = WINDOW
    while True:
        lo = max(0, end - width)
        window = data[lo:end]
        start = lo + len(window.rstrip(B64_CHARS))
        if start > lo or lo == 0 or width >= MAX_RUN:
            return start
        width *= 4


def candidates(data: bytes, keywords: tuple[str, ...] = DEFAULT_KEYWORDS) -> tuple[list[tuple[int, int]], set[int]]:
    """Encoded runs (start, end) worth decoding, and which escape/percent gates fired."""
    ends: dict[int, list[int]] = {RUN: []}

    def on_match(kind: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
        ends.setdefault(kind, []).append(end)

    for db in _databases(keywords or DEFAULT_KEYWORDS):
        db.scan(data, match_event_handler=on_match)
    return runs_at(data, sorted(ends.pop(RUN))), set(ends)


def runs_at(data: bytes, ends: list[int]) -> list[tuple[int, int]]:
    """The encoded runs (start, end) around sorted candidate ends (one run per stretch of run characters)."""
    runs: list[tuple[int, int]] = []
    last = -1
    for end in ends:
        if end > last and len(runs) < MAX_RUNS:
            m = TAIL.match(data, end)
            last = m.end() if m else end
            runs.append((_run_start(data, end), last))
    return sorted(set(runs))


def _origin(parent: Origin, chain: str, line: int) -> Origin:
    kept = tuple((k, v) for k, v in parent.details if k not in ("encoding", "encoded_at"))
    # The decoded text's line 1 is reported as the line the encoded value stands on.
    return Origin(parent.kind, parent.root, parent.path, parent.blob_id,
                  (*kept, ("encoding", chain), ("encoded_at", f"line {line}")), parent.git,
                  line_offset=parent.line_offset + line - 1)


def _chain(parent: Origin, encoding: str) -> str:
    before = dict(parent.details).get("encoding")
    return f"{before}>{encoding}" if before else encoding


def clusters(data: bytes, finder: re.Pattern[bytes], least: int) -> Iterator[tuple[int, int]]:
    """Word-like runs holding at least `least` escapes close together (the finder starts with a literal)."""
    start = end = -MAX_GAP - 1
    count = 0
    for m in finder.finditer(data):
        gap = data[end:m.start()]
        if m.start() - end <= MAX_GAP and not gap.strip(WORD_CHARS):
            end, count = m.end(), count + 1
            continue
        if count >= least:
            yield _widen(data, start, end)
        start, end, count = m.start(), m.end(), 1
    if count >= least:
        yield _widen(data, start, end)


def _widen(data: bytes, start: int, end: int) -> tuple[int, int]:
    window = data[max(0, start - 256):start]
    tail = WORD_TAIL.match(data, end)
    return start - (len(window) - len(window.rstrip(WORD_CHARS))), tail.end() if tail else end


def _unescape(m: re.Match[bytes]) -> bytes:
    return chr(int(m.group(1) or m.group(2), 16)).encode("utf-8", "replace")


def decodings(data: bytes, keywords: tuple[str, ...]) -> Iterator[tuple[int, str, bytes]]:
    """(offset, encoding, decoded text) of every encoded run in data that decodes to text."""
    return decoded_runs(data, *candidates(data, keywords))


def decoded_runs(data: bytes, runs: list[tuple[int, int]], gates: set[int]) -> Iterator[tuple[int, str, bytes]]:
    """(offset, encoding, decoded text) of the candidate runs and gated escape clusters that decode to text."""
    for start, end in runs:
        found = decode_run(data[start:end])
        if found:
            yield start, found[0], found[1]
    if ESCAPES in gates:
        for start, end in clusters(data, ESCAPE, 3):
            text = ESCAPE.sub(_unescape, data[start:end])
            if looks_like_text(text):
                yield start, "unicode-escape", text
    if PERCENTS in gates and PERCENT_GATE.search(data):
        for start, end in clusters(data, PERCENT, 2):
            text = unquote_to_bytes(data[start:end])
            if looks_like_text(text):
                yield start, "url", text


@cache
def _kinds() -> tuple[int, ...]:
    return tuple(kind for _, _, kind in expressions())


def from_extra(data: bytes, extra: dict[int, list[int]]) -> Iterator[tuple[int, str, bytes]]:
    """decodings() from the hit ends of expressions() (numbered from 0) found by someone else's pass."""
    kinds = _kinds()
    runs = sorted(end for index, ends in extra.items() if kinds[index] == RUN for end in ends)
    gates = {kinds[index] for index in extra if kinds[index] != RUN}
    return decoded_runs(data, runs_at(data, runs), gates)


def inner_blobs(blob: Blob, found: Iterable[tuple[int, str, bytes]]) -> Iterator[Blob | SkippedItem]:
    """One level of decoding: a blob of each decoded text (with its origin), or why decoding failed."""
    try:
        for offset, encoding, text in found:
            line = blob.data.count(b"\n", 0, offset) + 1
            yield Blob(text, _origin(blob.origin, _chain(blob.origin, encoding), line))
    except Exception as exc:  # decoding is best effort: a bug here must not cost the input
        yield SkippedItem(blob.origin.path, f"decoding pass failed: {type(exc).__name__}: {exc}", "error")


def decoded(blob: Blob, depth: int, keywords: tuple[str, ...] = ()) -> Iterator[Blob | SkippedItem]:
    """Blobs of the text hidden in blob's encoded runs, decoding nested encodings up to depth levels."""
    if depth <= 0:
        return
    try:
        yield from _decoded(blob, depth, keywords)
    except Exception as exc:  # decoding is best effort: a bug here must not cost the input
        yield SkippedItem(blob.origin.path, f"decoding pass failed: {type(exc).__name__}: {exc}", "error")


def _decoded(blob: Blob, depth: int, keywords: tuple[str, ...]) -> Iterator[Blob]:
    if depth <= 0:
        return
    for offset, encoding, text in decodings(blob.data, keywords):
        line = blob.data.count(b"\n", 0, offset) + 1
        inner = Blob(text, _origin(blob.origin, _chain(blob.origin, encoding), line))
        yield inner
        yield from _decoded(inner, depth - 1, keywords)
