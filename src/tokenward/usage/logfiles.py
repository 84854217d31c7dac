"""Log inputs: walking paths, gzip, content fingerprints (for dedup and rotation) and batches of lines."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, cast

import msgspec


def _inflate_module() -> Any:
    """isal_zlib when installed (ISA-L inflates gzip ~2x faster than zlib: benchmarks/monitor_throughput.py)."""
    try:
        from isal import isal_zlib
    except ImportError:  # pragma: no cover - zlib is the fallback
        return zlib
    return isal_zlib


INFLATE = _inflate_module()
INFLATE_ERRORS: tuple[type[BaseException], ...] = (INFLATE.error, zlib.error)


def _inflater() -> Any:
    return INFLATE.decompressobj(wbits=31)


HEAD = 1024  # bytes of (decompressed) content that identify a log file across renames and compression
CHUNK = 1 << 20
RAW_CHUNK = 1 << 18  # compressed bytes per inflate call: small enough that a truncated file keeps most of it
HEAD_RAW_CHUNK = 1 << 13  # when only the head is wanted, inflate little more than it
MAX_PIECE = 1 << 23  # inflated bytes per step at most (a highly compressed file must not balloon memory)
GZIP_MAGIC = b"\x1f\x8b"
MAX_DOCUMENT = 1 << 30
ONE_SHOT = 1 << 26  # compressed bytes at most that a document's gzip is inflated from in one step


@dataclass(frozen=True)
class FileIdentity:
    """Who a log file is: device/inode (renames keep it) and a hash of its first bytes (copies keep it)."""

    path: str
    device: int
    inode: int
    size: int  # on disk (compressed size for gzip)
    head_hash: str
    head_len: int
    first_hash: str  # of the first line (capped at HEAD bytes): stable while a small file grows
    gzip: bool


class LineBatch(NamedTuple):
    """Consecutive non-empty lines, the first's line number, and where reading resumes after them.

    end is -1 for all but the last batch cut from one chunk: a checkpoint may only be taken after the last.
    The lines end without their newline, unless batches() was asked to keep it.
    """

    lines: list[bytes]
    first_line: int
    end: int
    next_line: int


def iter_files(paths: Iterable[str]) -> Iterator[str]:
    """Each file of paths; directories are walked recursively in sorted order; '-' is stdin."""
    for p in paths:
        if p == "-" or not os.path.isdir(p):
            yield p
            continue
        for root, dirs, files in os.walk(p):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            yield from (os.path.join(root, f) for f in sorted(files) if not f.startswith("."))


def is_gzip(path: str) -> bool:
    """True when the file starts with the gzip magic bytes."""
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


class GzipStream(io.RawIOBase):
    """The decompressed content of a gzip file (all members), read forward only.

    Like gzip.open, but inflating with ISA-L when installed and in large steps; what was inflated before a
    truncation (EOFError) or corruption (gzip.BadGzipFile) is returned first, so a damaged log keeps its start.
    """

    def __init__(self, raw: BinaryIO, raw_chunk: int = RAW_CHUNK) -> None:
        self.raw, self.raw_chunk = raw, raw_chunk
        self.inflater = _inflater()
        self.done = False
        self.pending = b""  # inflated past the end of the last read(size)
        self.tail = b""  # compressed bytes the last step left (its output reached MAX_PIECE)

    def readable(self) -> bool:
        """Always: this is a reader."""
        return True

    def read1(self, size: int = -1) -> bytes:
        """The next decompressed piece (any length, b'' at the end; size is only a hint)."""
        if self.pending:
            out, self.pending = self.pending, b""
            return out
        return self._inflate()

    def _inflate(self) -> bytes:
        """The next inflated piece, read here (b'' at the end)."""
        while not self.done:
            data = self._compressed()
            if not data:
                self.done = True
                break
            try:
                out: bytes = self.inflater.decompress(data, MAX_PIECE)
                self.tail = self.inflater.unconsumed_tail
            except INFLATE_ERRORS as exc:
                self.done = True
                raise gzip.BadGzipFile(str(exc)) from None
            if out:
                return out
        return b""

    def _compressed(self) -> bytes:
        """The next compressed bytes to inflate; b'' after the last member, EOFError inside one."""
        if self.tail:
            return self.tail
        if not self.inflater.eof:
            data = self.raw.read(self.raw_chunk)
            if not data:
                self.done = True
                raise EOFError("Compressed file ended before the end-of-stream marker was reached")
            return data
        data = (self.inflater.unused_data or self.raw.read(self.raw_chunk)).lstrip(b"\0")
        while not data:  # zero padding after the last member is allowed, as gzip allows it
            more = self.raw.read(self.raw_chunk)
            if not more:
                return b""
            data = more.lstrip(b"\0")
        self.inflater = _inflater()  # another member (concatenated gzip files)
        return data

    def read(self, size: int = -1) -> bytes:
        """Up to size decompressed bytes (everything when size < 0)."""
        parts: list[bytes] = []
        got = 0
        while size < 0 or got < size:
            piece = self.read1()
            if not piece:
                break
            parts.append(piece)
            got += len(piece)
        data = b"".join(parts)
        if 0 <= size < len(data):
            data, self.pending = data[:size], data[size:]
        return data

    def read_document(self, size: int) -> bytes:
        """Up to size decompressed bytes, from a stream not read yet: a small enough file is inflated in one
        step into a buffer sized from its trailer (twice as fast as piecewise reads and their join); a
        damaged one is read as read() reads it, so it stops exactly where read() would."""
        if not self._untouched():
            return self.read(size)
        raw = self.raw.read(ONE_SHOT + 1)
        if len(raw) <= ONE_SHOT:
            try:
                data = _inflate_all(raw)
            except INFLATE_ERRORS:
                data = None
            if data is not None and len(data) <= size:
                self.done = True
                return data
        self.raw = cast(BinaryIO, _Rewound(raw, self.raw))
        return self.read(size)

    def _untouched(self) -> bool:
        """True when nothing was read from this stream yet (and its file can tell where it is)."""
        try:
            return not (self.pending or self.tail or self.done) and self.raw.tell() == 0
        except OSError:  # a named pipe
            return False

    def close(self) -> None:
        """Close the compressed file too."""
        self.raw.close()
        super().close()


class _Rewound(io.RawIOBase):
    """A file whose first bytes were read already: those bytes again, then the rest of the file."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head, self.rest = io.BytesIO(head), rest

    def readable(self) -> bool:
        """Always: this is a reader."""
        return True

    def read(self, size: int = -1) -> bytes:
        """The next bytes: of the head while it lasts, then of the file."""
        return self.head.read(size) or self.rest.read(size)

    def close(self) -> None:
        """Close the file."""
        self.rest.close()
        super().close()


def _inflate_all(raw: bytes) -> bytes | None:
    """The content of raw when it is one whole gzip member, inflated in one step into a buffer sized from its
    trailer; None when it is not (several members, padding, damage) or ISA-L is missing: read it piecewise.

    The one-step inflate stops at the end of the first member, so the trailer at the very end of raw (size
    and CRC-32 of the content) must be this member's own: several members, or padding, fail that check.
    """
    size, crc = int.from_bytes(raw[-4:], "little"), int.from_bytes(raw[-8:-4], "little")
    if INFLATE is zlib or len(raw) < 18 or size > min(MAX_DOCUMENT, len(raw) * 1032):
        return None  # deflate inflates 1032:1 at most: a larger trailer size is a lie, not a buffer to allocate
    data: bytes = INFLATE.decompress(raw, wbits=31, bufsize=size + 1)
    if len(data) & 0xFFFFFFFF != size or INFLATE.crc32(data) != crc or _doubled(raw):
        return None
    return data


def _doubled(raw: bytes) -> bool:
    """True when raw is one gzip file twice over (its trailer then names the first copy's content too)."""
    half = len(raw) // 2
    return len(raw) % 2 == 0 and raw[:half] == raw[half:]


def open_log(path: str, raw_chunk: int = RAW_CHUNK) -> BinaryIO:
    """A binary stream of the log's content (decompressed when gzip, raw_chunk compressed bytes a step)."""
    if path == "-":
        return sys.stdin.buffer
    fh = open(path, "rb")  # noqa: SIM115 - returned open
    if fh.peek(2)[:2] == GZIP_MAGIC:
        return GzipStream(fh, raw_chunk)  # type: ignore[return-value]
    return fh


def head_of(path: str, n: int = HEAD) -> bytes:
    """The first n bytes of the log's (decompressed) content (what there is, for a truncated gzip)."""
    return read_head(path, n)[0]


def read_head(path: str, n: int = HEAD) -> tuple[bytes, str | None]:
    """The first n bytes of the log's (decompressed) content, and why reading stopped short (corrupt or
    truncated gzip), if it did."""
    return _read_head(path, n)[:2]


def _read_head(path: str, n: int) -> tuple[bytes, str | None, bool]:
    """read_head, and whether the file is gzip."""
    parts: list[bytes] = []
    got = 0
    problem = None
    with open_log(path, HEAD_RAW_CHUNK) as fh:
        gz = isinstance(fh, GzipStream)
        try:
            while got < n and (piece := fh.read(min(n - got, 8192))):
                parts.append(piece)
                got += len(piece)
        except EOFError:
            problem = "truncated gzip"
        except (zlib.error, gzip.BadGzipFile) as exc:
            problem = f"corrupt gzip ({exc})"
    return b"".join(parts), problem, gz


def identify(path: str) -> FileIdentity:
    """The identity of a log file now (OSError when it cannot be read)."""
    return probe(path, HEAD)[0]


def probe(path: str, n: int) -> tuple[FileIdentity, bytes, str | None]:
    """The identity of a log file, its first n content bytes (n >= HEAD) and why reading them stopped short,
    from one open (OSError when it cannot be read)."""
    st = os.stat(path)
    data, problem, gz = _read_head(path, n)
    head = data[:HEAD]
    first = head.split(b"\n", 1)[0]
    ident = FileIdentity(path, st.st_dev, st.st_ino, st.st_size, hashlib.sha256(head).hexdigest(), len(head),
                         hashlib.sha256(first).hexdigest(), gz)
    return ident, data, problem


def head_hash(path: str, n: int) -> str:
    """sha256 of the first n content bytes (to check a remembered file still starts the same)."""
    return hashlib.sha256(head_of(path, n)).hexdigest()


def is_document(first: bytes) -> bool:
    """True when a log is one JSON document spread over lines (a pretty-printed export), not JSON lines: its
    first line is not one whole JSON value. Only the syntax is checked (msgspec, without building the value:
    a four times faster pass over a small CloudTrail file, probed whole); a line that is whole but holds bad
    UTF-8 or a number out of range is a malformed line of JSON lines, which its parser reports."""
    text = first.lstrip()
    if not text.startswith((b"{", b"[")):
        return False
    line = text.partition(b"\n")[0].rstrip(b" \t\r")  # JSON whitespace; memchr, where split compares bytes
    if not line.endswith((b"}", b"]")):
        return True  # cut short (a head ends inside a long first line), or spread over lines
    try:
        _WHOLE(line)
    except msgspec.DecodeError:
        return True
    return False


_WHOLE = msgspec.json.Decoder(msgspec.Raw).decode  # one whole JSON value, or DecodeError


def first_record(stream: BinaryIO) -> bytes:
    """Peek helper: the first non-empty line of a head buffer."""
    return first_line(stream.read(HEAD * 64))


def first_line(data: bytes) -> bytes:
    """The first line of data (without its newline) that is not only whitespace, else b''. What the first such
    item of data.split(b"\n") is, found at memchr speed: split compares a head's 64 KB byte by byte."""
    start = 0
    while start <= len(data):
        end = data.find(b"\n", start)
        line = data[start:] if end < 0 else data[start:end]
        if line.strip():
            return line
        if end < 0:
            break
        start = end + 1
    return b""


BLANK = (b"", b"\r")  # lines without their newline that are never read
BLANK_KEPT = (b"\n", b"\r\n", b"\r")  # the same lines with it (the last line of a file may lack it)


def _split(lines: list[bytes], first: int, end: int, blank: tuple[bytes, ...] = BLANK) -> Iterator[LineBatch]:
    """lines numbered from first, in runs of consecutive ones without the blank ones; the last run ends at end.
    (A line of other whitespace is dropped here only when cut with an empty one; the parsers count it as
    blank, not malformed, so the counts are the same either way.)"""
    after = first + len(lines)
    if all(b not in lines for b in blank):
        yield LineBatch(lines, first, end, after)
        return
    runs: list[tuple[list[bytes], int]] = []
    for i, ln in enumerate(lines, first):
        if not ln.strip():
            continue
        if runs and runs[-1][1] + len(runs[-1][0]) == i:
            runs[-1][0].append(ln)
        else:
            runs.append(([ln], i))
    for n, (run, start) in enumerate(runs, 1):
        yield LineBatch(run, start, end if n == len(runs) else -1, after if n == len(runs) else -1)
    if not runs:
        yield LineBatch([], first, end, after)


def batches(stream: BinaryIO, offset: int, line: int, final: bool = True,
            limit: int | None = None, newlines: bool = False) -> Iterator[LineBatch]:
    """Complete lines from stream (positioned at offset, line number line); a last partial line only if final.

    limit stops reading at that offset (so parallel readers of a growing file all stop at the same place).
    newlines: the lines keep their newline (for JSON, where it is whitespace): cut at memchr speed, ~4x faster
    than bytes.split, which compares byte by byte.
    """
    tail: list[bytes] = []  # pieces of a line longer than a chunk (a CloudTrail document is one line)
    read = getattr(stream, "read1", stream.read)  # one raw read at a time: a truncated gzip keeps what came
    cut_lines, blank = (_kept, BLANK_KEPT) if newlines else (_cut, BLANK)
    pos = offset
    while chunk := read(CHUNK if limit is None else max(0, min(CHUNK, limit - pos))):
        pos += len(chunk)
        cut = chunk.rfind(b"\n")
        if cut < 0:
            tail.append(chunk)
            continue
        lines, rest = cut_lines(chunk)
        if tail:
            offset += sum(map(len, tail))
            lines[0] = b"".join((*tail, lines[0]))
        offset += cut + 1
        yield from _split(lines, line, offset, blank)
        line += len(lines)
        tail = [rest] if rest else []
    if tail and final:
        rest = b"".join(tail)
        yield from _split([rest], line, offset + len(rest), blank)


def _cut(chunk: bytes) -> tuple[list[bytes], bytes]:
    """The lines of chunk that its last newline ends, without their newlines, and what follows that newline."""
    lines = chunk.split(b"\n")  # split in place: no copy of the chunk up to its last newline first
    return lines, lines.pop()


def _kept(chunk: bytes) -> tuple[list[bytes], bytes]:
    """The lines of chunk that its last newline ends, each with its newline, and what follows that newline."""
    lines = io.BytesIO(chunk).readlines()  # memchr for each newline
    return (lines, lines.pop()) if not lines[-1].endswith(b"\n") else (lines, b"")


def document(stream: BinaryIO) -> LineBatch:
    """The whole log as one record (a pretty-printed JSON export), as line 1."""
    data = stream.read_document(MAX_DOCUMENT) if isinstance(stream, GzipStream) else stream.read(MAX_DOCUMENT)
    return LineBatch([data], 1, len(data), 2)


def skip(stream: BinaryIO, offset: int) -> None:
    """Position stream at offset (seek, or read and discard for gzip and pipes)."""
    if offset <= 0:
        return
    try:
        stream.seek(offset)
    except (OSError, io.UnsupportedOperation):
        left = offset
        while left > 0 and (chunk := stream.read(min(left, CHUNK))):
            left -= len(chunk)


ALIASES: dict[str, str] = {}  # local copy of a remote log (absolute path) → its URL, for evidence


def display(path: str) -> str:
    """A path as shown in evidence: absolute (or the URL a local copy was fetched from), or 'stdin'."""
    if path == "-":
        return "stdin"
    absolute = str(Path(path).absolute())
    return ALIASES.get(absolute, absolute)
