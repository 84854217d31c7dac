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
from typing import BinaryIO, NamedTuple

from tokenward.usage.parsers.interface import load_json

HEAD = 1024  # bytes of (decompressed) content that identify a log file across renames and compression
CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
MAX_DOCUMENT = 1 << 30


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


class Batch(NamedTuple):
    """Consecutive non-empty lines, the first's line number, and where reading resumes after them.

    end is -1 for all but the last batch cut from one chunk: a checkpoint may only be taken after the last.
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


def open_log(path: str) -> BinaryIO:
    """A binary stream of the log's content (decompressed when gzip); '-' is stdin."""
    if path == "-":
        return sys.stdin.buffer
    if is_gzip(path):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def head_of(path: str, n: int = HEAD) -> bytes:
    """The first n bytes of the log's (decompressed) content (what there is, for a truncated gzip)."""
    return read_head(path, n)[0]


def read_head(path: str, n: int = HEAD) -> tuple[bytes, str | None]:
    """The first n bytes of the log's (decompressed) content, and why reading stopped short (corrupt or
    truncated gzip), if it did."""
    parts: list[bytes] = []
    got = 0
    problem = None
    with open_log(path) as fh:
        try:
            while got < n and (piece := fh.read(min(n - got, 8192))):
                parts.append(piece)
                got += len(piece)
        except EOFError:
            problem = "truncated gzip"
        except (zlib.error, gzip.BadGzipFile) as exc:
            problem = f"corrupt gzip ({exc})"
    return b"".join(parts), problem


def identify(path: str) -> FileIdentity:
    """The identity of a log file now (OSError when it cannot be read)."""
    st = os.stat(path)
    head = head_of(path)
    first = head.split(b"\n", 1)[0]
    return FileIdentity(path, st.st_dev, st.st_ino, st.st_size, hashlib.sha256(head).hexdigest(), len(head),
                        hashlib.sha256(first).hexdigest(), is_gzip(path))


def head_hash(path: str, n: int) -> str:
    """sha256 of the first n content bytes (to check a remembered file still starts the same)."""
    return hashlib.sha256(head_of(path, n)).hexdigest()


def is_document(first: bytes) -> bool:
    """True when a log is one JSON document spread over lines (a pretty-printed export), not JSON lines."""
    text = first.lstrip()
    if not text.startswith((b"{", b"[")):
        return False
    line = text.split(b"\n", 1)[0]
    try:
        load_json(line)
    except ValueError:
        return True
    return False


def first_record(stream: BinaryIO) -> bytes:
    """Peek helper: the first non-empty line of a head buffer."""
    data = stream.read(HEAD * 64)
    return next((ln for ln in data.split(b"\n") if ln.strip()), b"")


def _split(lines: list[bytes], first: int, end: int) -> Iterator[Batch]:
    after = first + len(lines)
    if b"" not in lines and b"\r" not in lines:
        yield Batch(lines, first, end, after)
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
        yield Batch(run, start, end if n == len(runs) else -1, after if n == len(runs) else -1)
    if not runs:
        yield Batch([], first, end, after)


def batches(stream: BinaryIO, offset: int, line: int, final: bool = True, limit: int | None = None) -> Iterator[Batch]:
    """Complete lines from stream (positioned at offset, line number line); a last partial line only if final.

    limit stops reading at that offset (so parallel readers of a growing file all stop at the same place).
    """
    tail = b""
    read = getattr(stream, "read1", stream.read)  # one raw read at a time: a truncated gzip keeps what came
    pos = offset
    while chunk := read(CHUNK if limit is None else max(0, min(CHUNK, limit - pos))):
        pos += len(chunk)
        data = tail + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            tail = data
            continue
        lines = data[:cut].split(b"\n")
        offset += cut + 1
        yield from _split(lines, line, offset)
        line += len(lines)
        tail = data[cut + 1:]
    if tail and final:
        yield from _split([tail], line, offset + len(tail))


def document(stream: BinaryIO) -> Batch:
    """The whole log as one record (a pretty-printed JSON export), as line 1."""
    data = stream.read(MAX_DOCUMENT)
    return Batch([data], 1, len(data), 2)


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


def display(path: str) -> str:
    """A path as shown in evidence: absolute, or 'stdin'."""
    return "stdin" if path == "-" else str(Path(path).absolute())
