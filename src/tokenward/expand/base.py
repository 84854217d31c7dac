"""Shared pieces of every expander: the context, members to expand further, origins and bounded reads."""

from __future__ import annotations

import bz2
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import IO, Any

from tokenward.expand.detect import HEAD, sniff
from tokenward.expand.limits import RATIO_FLOOR, Budget, Limits
from tokenward.sources.interface import Blob, Origin, SkippedItem
from tokenward.sources.textdecode import to_scannable

CHUNK = 1 << 20
COMPRESSED_SUFFIXES = {".tgz": ".tar", ".tbz2": ".tar", ".txz": ".tar", ".gz": "", ".bz2": "", ".xz": "",
                       ".zst": "", ".zstd": ""}
Details = tuple[tuple[str, str], ...]
# What a stream may raise when its bytes are truncated or corrupt.
STREAM_ERRORS: tuple[type[Exception], ...] = (
    EOFError, OSError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, tarfile.TarError, ValueError, KeyError,
)


@dataclass(frozen=True)
class Ctx:
    """Limits, the running budget of the top-level input, and how deep in containers we are."""

    limits: Limits
    budget: Budget
    keywords: tuple[str, ...] = ()  # for the decoding pass
    probe: Any = None  # the compiled rule set, to skip texts no rule can match (see gate.py)
    depth: int = 0
    decode: bool = True  # decode leaves' encoded runs here (False: the scanner does it while matching)

    def deeper(self) -> Ctx:
        """The context of a container's members."""
        return replace(self, depth=self.depth + 1)


@dataclass(frozen=True)
class Member:
    """A blob found inside a container that may itself be a container (sniffed and expanded again)."""

    blob: Blob


Item = Blob | Member | SkippedItem
Expander = Callable[[Blob, Ctx], Iterator[Item]]


def child(parent: Origin, fmt: str, name: str | None = None, details: Details = ()) -> Origin:
    """The origin of something inside parent: path chained with '!/' when name is given, details["format"] set.

    The kind stays the parent's ("file", "git", "stdin"): it names the source, and the git source
    attaches commit provenance (and caches findings) by it, also for what archives in history hold.
    """
    path = f"{parent.path}!/{name}" if name is not None else parent.path
    kept = tuple(d for d in parent.details if d[0] != "format")
    return Origin(parent.kind, parent.root, path, parent.blob_id, (*kept, ("format", fmt), *details), parent.git)


def text_blob(parent: Origin, fmt: str, text: str, details: Details, name: str | None = None) -> Blob:
    """A leaf blob of extracted text."""
    return Blob(text.encode("utf-8", "surrogatepass"), child(parent, fmt, name, details))


def padded(text: str, first_line: int) -> str:
    """text preceded by newlines so that its first line is numbered first_line (keeps file line numbers)."""
    return "\n" * (first_line - 1) + text


def error(location: str, reason: str) -> SkippedItem:
    """A skip for corrupt, truncated or unreadable input."""
    return SkippedItem(location, reason, "error")


def policy(location: str, reason: str) -> SkippedItem:
    """A skip for input deliberately not scanned (a limit)."""
    return SkippedItem(location, reason, "policy")


def read_bounded(stream: IO[bytes], compressed: int, location: str, ctx: Ctx, first: bytes = b""
                 ) -> tuple[bytes, SkippedItem | None]:
    """Read a member within the limits: (bytes read, None) or (what was read before a problem, why). `first`:
    the member's bytes already read from stream (counted against the limits here)."""
    chunks: list[bytes] = []
    total = 0
    lim = ctx.limits
    try:
        chunk = first or stream.read(CHUNK)
        while chunk:
            total += len(chunk)
            if total > lim.max_member_bytes:
                return b"", policy(location, f"archive member too large (> {lim.max_member_bytes} bytes inflated)")
            if total > RATIO_FLOOR and compressed > 0 and total > compressed * lim.max_ratio:
                return b"", policy(location, f"compression ratio above {lim.max_ratio} (possible zip bomb)")
            budget_skip = charge(ctx, len(chunk), location)
            if budget_skip is not None:
                return b"", budget_skip
            chunks.append(chunk)
            chunk = stream.read(CHUNK - total % CHUNK)  # after `first`, back on CHUNK boundaries: limits trip as before
    except STREAM_ERRORS as exc:
        return b"".join(chunks), error(location, f"truncated or corrupt compressed data: {exc}")
    return b"".join(chunks), None


def charge(ctx: Ctx, n: int, location: str) -> SkippedItem | None:
    """Count n inflated bytes against the input's budget; a skip once the total or overall ratio is exceeded."""
    budget, lim = ctx.budget, ctx.limits
    if not budget.take_bytes(n, lim):
        return _stop(ctx, location, f"archive total too large (> {lim.max_total_bytes} bytes inflated; rest not read)")
    if budget.inflated > RATIO_FLOOR and budget.inflated > budget.source_size * lim.max_ratio:
        return _stop(ctx, location, f"compression ratio above {lim.max_ratio} (possible zip bomb; rest not read)")
    return None


def _stop(ctx: Ctx, location: str, reason: str) -> SkippedItem:
    ctx.budget.stopped = reason
    return policy(location, reason)


def take_entry(ctx: Ctx, location: str) -> SkippedItem | None:
    """Count one entry; a skip once the entry limit is reached."""
    if ctx.budget.take_entry(ctx.limits):
        return None
    return _stop(ctx, location, f"too many entries (> {ctx.limits.max_entries}; rest not read)")


Read = tuple[bytes | None, SkippedItem | None]  # a member's bytes (None: nothing usable) and its problem


def read_zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, loc: str, ctx: Ctx,
                    skip_binary: bool = False) -> Read:
    """One member's bytes within the limits, and the problem met reading it (if any). skip_binary: a member
    that binary_head() refuses from its first bytes is counted (Budget.binary_members) and not inflated
    further: (None, None)."""
    skip = take_entry(ctx, loc)
    if skip:
        return None, skip
    if info.flag_bits & 0x1:
        return None, error(loc, "encrypted archive member (no password; not scanned)")
    try:
        stream = zf.open(info)
    except NotImplementedError as exc:
        return None, error(loc, f"unsupported zip compression: {exc}")
    except STREAM_ERRORS as exc:
        return None, error(loc, f"corrupt or truncated zip member: {exc}")
    with stream:
        head, problem = _head(stream, loc) if skip_binary else (b"", None)
        if problem is not None:
            return None, problem
        if head and binary_head(head, loc):
            ctx.budget.binary_members += 1  # as walk() counts a binary member
            return None, charge(ctx, len(head), loc)
        data, problem = read_bounded(stream, info.compress_size, loc, ctx, head)
    return (data if data or problem is None else None), problem


def _head(stream: IO[bytes], loc: str) -> tuple[bytes, SkippedItem | None]:
    """A member's first HEAD bytes (fewer when it is shorter), or why they cannot be read."""
    try:
        return stream.read(HEAD), None
    except STREAM_ERRORS as exc:
        return b"", error(loc, f"truncated or corrupt compressed data: {exc}")


def binary_head(head: bytes, path: str) -> bool:
    """True when an archive member whose first HEAD bytes (all of it, when shorter) are head would be skipped as
    binary by walk(): no format an expander opens, and not text (both told from these bytes and the path alone).
    Most of an archive's bytes are often such members (executables, images): their rest is never inflated."""
    return sniff(head, path) is None and to_scannable(head) is None


INPUT = 64 << 10  # compressed bytes fed at a time


class _Chunks:
    """A read()-able view of an iterator of byte chunks (read returns the next chunk whatever n is)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks

    def read(self, _n: int = -1) -> bytes:
        return next(self.chunks, b"")


def _decompressor(fmt: str) -> Any:
    if fmt == "gzip":
        return zlib.decompressobj(47)  # gzip or zlib header, detected
    if fmt == "bzip2":
        return bz2.BZ2Decompressor()
    if fmt == "xz":
        return lzma.LZMADecompressor()
    import zstandard  # imported here: most scans meet no zstd stream

    return zstandard.ZstdDecompressor().decompressobj()


def inflate(fmt: str, data: bytes) -> Iterator[bytes]:
    """Decompressed chunks of a gzip/bzip2/xz/zstd stream, bounded per step; EOFError when it is cut short
    (after yielding everything before the cut)."""
    d = _decompressor(fmt)
    bounded = fmt in ("gzip", "bzip2", "xz")  # these take max_length; zstd is fed small slices instead
    pos = 0
    while not d.eof:
        pending = d.unconsumed_tail if fmt == "gzip" else b""
        starving = not pending and (fmt == "gzip" or not bounded or d.needs_input)
        feed = data[pos:pos + INPUT] if starving else pending
        pos += len(feed) if starving else 0
        if starving and not feed:
            raise EOFError("compressed stream ends before its end marker")
        out = d.decompress(feed, CHUNK) if bounded else d.decompress(feed)
        if out:
            yield out


def decompressor(fmt: str, data: bytes) -> IO[bytes]:
    """A reader of the decompressed stream of gzip, bzip2, xz or zstd data (see inflate)."""
    reader: IO[bytes] = _Chunks(inflate(fmt, data))  # type: ignore[assignment]
    return reader


def inner_name(name: str) -> str:
    """The name of what a compressed file holds: app.log.gz → app.log, x.tgz → x.tar."""
    for suffix, replacement in COMPRESSED_SUFFIXES.items():
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] + replacement
    return name + ".out"


def read_tar_member(tf: tarfile.TarFile, info: tarfile.TarInfo, loc: str, ctx: Ctx) -> Read:
    """One tar member's bytes within the limits, and the problem met reading it (if any)."""
    skip = take_entry(ctx, loc)
    if skip:
        return None, skip
    stream = tf.extractfile(info)
    if stream is None:
        return None, None
    data, problem = read_bounded(stream, 0, loc, ctx)
    if problem is None and len(data) < info.size:
        problem = error(loc, f"truncated tar member ({len(data)} of {info.size} bytes)")
    return (data if data or problem is None else None), problem
