"""Read a blob's delta straight from its pack: which byte ranges of the blob are not its base's.

History is mostly the same files again: git stores a blob version as a delta against a similar one
(its *base*), a list of "copy these bytes of the base" and "insert these new bytes" instructions.
A match that lies, with all the context the rules look at, inside one copied range is a match the
base holds at the same bytes. So when the base is known to hold no match, only the bytes around
inserted data and around the seams between copies can hold one, and only those are matched
(changed_windows). The scan checks the "base holds no match" premise after the fact and matches
the whole blob again whenever it fails (see GitSource.revisit).

Only version-2 pack indexes are read; anything unexpected (a loose object, a pack repacked away
mid-scan, a malformed delta) answers None, and the blob is matched whole as before.
"""

from __future__ import annotations

import contextlib
import os
import struct
import zlib
from bisect import bisect_left, bisect_right
from pathlib import Path

from tokenward.rules.model import REACH

_IDX_MAGIC = b"\377tOc"
_OFS_DELTA = 6
# A delta larger than this share of its blob is matched whole: parsing its many instructions in Python
# costs more than matching the bytes they spare (measured on redis' history: 2 % keeps 95 % of the saving).
MAX_DELTA_SHARE = 0.02
MIN_BLOB = 16 * 1024  # smaller blobs are matched whole: the windows around one change would cover them
MAX_WINDOWED_SHARE = 0.75  # windows covering more of a blob than this: match it whole


class _Pack:
    """One pack and its version-2 index. The index's names and offsets are read once (≈ 26 bytes an
    object); the pack is read with pread (mapping it would count its pages as resident memory)."""

    def __init__(self, idx_path: Path, oid_bytes: int) -> None:
        with open(idx_path, "rb") as idx:
            head = idx.read(8 + 256 * 4)
            if head[:4] != _IDX_MAGIC or struct.unpack(">I", head[4:8])[0] != 2:
                raise ValueError("not a version-2 pack index")
            self.fanout = struct.unpack(">256I", head[8:])
            count = self.fanout[255]
            self.names = idx.read(count * oid_bytes)
            idx.seek(count * 4, os.SEEK_CUR)  # the names' CRCs
            self.offsets = idx.read(count * 4)
            self.large = idx.read()  # 8-byte offsets of objects beyond 2 GiB, then the checksums
        if len(self.offsets) != count * 4:
            raise ValueError("truncated pack index")
        self.width = oid_bytes
        # The names' second and third bytes, each as one bytes object: bisecting them narrows a fan-out
        # bucket (thousands of names in a large repository) to a name or two in C.
        self.second, self.third = self.names[1::oid_bytes], self.names[2::oid_bytes]
        self.pack = os.open(idx_path.with_suffix(".pack"), os.O_RDONLY)

    def offset(self, raw: bytes) -> int | None:
        """The pack offset of the object named raw, or None when this pack does not hold it."""
        first, width = raw[0], self.width
        lo, hi = self.fanout[first - 1] if first else 0, self.fanout[first]
        lo, hi = bisect_left(self.second, raw[1], lo, hi), bisect_right(self.second, raw[1], lo, hi)
        lo, hi = bisect_left(self.third, raw[2], lo, hi), bisect_right(self.third, raw[2], lo, hi)
        index = next((i for i in range(lo, hi) if self.names[i * width:(i + 1) * width] == raw), -1)
        if index < 0:
            return None
        value: int = struct.unpack_from(">I", self.offsets, 4 * index)[0]
        if value & 0x80000000:
            value = struct.unpack_from(">Q", self.large, 8 * (value & 0x7FFFFFFF))[0]
        return value

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.pack)


class PackReader:
    """The packs of one repository, opened on first use in the process that reads deltas (each
    process's shared BlobReader holds one: gitobjects.shared_reader)."""

    def __init__(self, git_dir: Path, oid_len: int) -> None:
        self.git_dir = git_dir
        self.oid_bytes = oid_len // 2
        self._packs: list[_Pack] | None = None

    def _open(self) -> list[_Pack]:
        if self._packs is None:
            self._packs = []
            for idx in sorted((self.git_dir / "objects" / "pack").glob("*.idx")):
                with contextlib.suppress(OSError, ValueError, struct.error):
                    self._packs.append(_Pack(idx, self.oid_bytes))
        return self._packs

    def windows(self, oid: str, size: int, base: str) -> tuple[tuple[int, int], ...] | None:
        """changed_windows() of blob oid (size bytes), when a pack stores it as a small delta against base."""
        delta = self.delta(oid, size, base)
        return None if delta is None else changed_windows(delta, size)

    def delta(self, oid: str, size: int, base: str) -> bytes | None:
        """The raw delta git stores for blob oid (size bytes once applied) against base, when it is a
        small one (None too when the first pack holding oid stores it otherwise)."""
        raw = bytes.fromhex(oid)
        for pack in self._open():
            offset = pack.offset(raw)
            if offset is not None:
                with contextlib.suppress(IndexError, zlib.error, struct.error, ValueError, OSError):
                    return _delta_at(pack, offset, size, bytes.fromhex(base))
                return None
        return None

    def close(self) -> None:
        """Close every pack."""
        for pack in self._packs or ():
            pack.close()
        self._packs = None


def _delta_at(pack: _Pack, offset: int, size: int, base: bytes) -> bytes | None:
    head = os.pread(pack.pack, 32, offset)  # type and size, then the base's offset: a few bytes each
    byte = head[0]
    kind, length, shift, at = (byte >> 4) & 7, byte & 15, 4, 1
    while byte & 0x80:
        byte = head[at]
        length |= (byte & 0x7F) << shift
        shift, at = shift + 7, at + 1
    # A whole object, or a delta whose base is named by id (thin-pack leftovers, rare in a local pack),
    # is matched whole.
    if kind != _OFS_DELTA or length > size * MAX_DELTA_SHARE:
        return None
    byte = head[at]
    distance, at = byte & 0x7F, at + 1
    while byte & 0x80:
        byte = head[at]
        distance, at = ((distance + 1) << 7) | (byte & 0x7F), at + 1
    if pack.offset(base) != offset - distance:
        return None  # another copy of the object, stored against another base: its changes vouch for nothing
    inflater = zlib.decompressobj()
    # Deflate never grows data by more than a few bytes per 16 KB block: this read holds the whole stream.
    data = inflater.decompress(os.pread(pack.pack, length + length // 512 + 64, offset + at), length)
    return data if inflater.eof and len(data) == length else None


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        shift, at = shift + 7, at + 1
        if not byte & 0x80:
            return value, at


def changed_windows(delta: bytes, size: int, reach: int = REACH) -> tuple[tuple[int, int], ...] | None:
    """The byte ranges of the blob to match: the bytes a delta inserts, and the seams where a copy does
    not continue the base where the bytes before it left off, each widened by reach both ways and
    merged. None when they would cover most of the blob anyway, or the delta is not understood."""
    try:
        return _parse(delta, size, reach)
    except IndexError:
        return None


def _parse(delta: bytes, size: int, reach: int) -> tuple[tuple[int, int], ...] | None:
    # One pass, locals only, no calls: a delta may hold thousands of instructions (git's format:
    # Documentation/gitformat-pack.txt, "Deltified representation"), and this runs for every one.
    base_size, at = _varint(delta, 0)
    target, at = _varint(delta, at)
    if target != size:
        return None
    ranges: list[tuple[int, int]] = []
    lo = hi = -1  # the range being grown (changes come in order: only the last range can grow)
    covered, limit = 0, size * MAX_WINDOWED_SHARE
    out, follows, n = 0, 0, len(delta)  # follows: where in the base the bytes so far left off (-1: not a copy)
    while at < n:
        op = delta[at]
        at += 1
        if op & 0x80:
            start = length = 0
            if op & 1:
                start, at = delta[at], at + 1
            if op & 2:
                start, at = start | delta[at] << 8, at + 1
            if op & 4:
                start, at = start | delta[at] << 16, at + 1
            if op & 8:
                start, at = start | delta[at] << 24, at + 1
            if op & 16:
                length, at = delta[at], at + 1
            if op & 32:
                length, at = length | delta[at] << 8, at + 1
            if op & 64:
                length, at = length | delta[at] << 16, at + 1
            length = length or 0x10000
            changed, end = start != follows, out
            out, follows = out + length, start + length
            if not changed:
                continue
            begin = end
        elif op:
            begin, end = out, out + op
            out, at, follows = end, at + op, -1
        else:
            return None  # reserved: a delta git would not write
        if hi < 0 or begin - reach > hi:
            if hi >= 0:
                ranges.append((lo, hi))
            lo, hi = max(0, begin - reach), min(size, end + reach)
            covered += hi - lo
        elif end + reach > hi:
            grown = min(size, end + reach)
            covered, hi = covered + grown - hi, grown
        if covered > limit:
            return None
    if out != size:
        return None
    if follows != base_size and (hi < 0 or size - reach > hi):  # the blob ends where its base does not
        if hi >= 0:
            ranges.append((lo, hi))
        lo, hi = max(0, size - reach), size
        covered += hi - lo
    elif follows != base_size:
        covered, hi = covered + size - hi, size
    if hi >= 0:
        ranges.append((lo, hi))
    return None if covered > limit else tuple(ranges)
