"""Read blobs straight from a repository's packs, without a `git cat-file` and the pipe behind it.

Every blob of a history scan used to cross a pipe from `git cat-file --batch`: on redis' history
(5.5 GB of blobs) the pipe alone cost about 3 CPU-s in git and 2.6 in the reader, more than half
as much again as inflating the objects. Reading the pack in the scanning process costs neither:
the index names the object's offset, zlib (ISA-L) inflates it, and a chain of deltas is applied
down from the nearest base held in a small cache (dulwich's compiled `apply_delta`).

Only what the format documents plainly is read here (version-2 pack indexes, version-2 and -3
packs, whole objects and both delta kinds within one pack). Anything else answers None and the
caller asks git: a loose object, an object of another repository (alternates), a base in another
pack, a corrupt or truncated stream, a delta git would not write, a missing `apply_delta`.
The delta of a blob stored as a small one is handed on with it (gitdelta.changed_windows).
"""

from __future__ import annotations

import contextlib
import os
import struct
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import cast

from isal import isal_zlib

from tokenward.sources.gitdelta import MAX_DELTA_SHARE, Windows, changed_windows

_IDX_MAGIC = b"\377tOc"
_PACK_MAGIC = b"PACK"
_BLOB, _OFS_DELTA, _REF_DELTA = 3, 6, 7
BASE_CACHE = 96 << 20  # bytes of delta bases kept per process: git's own default (core.deltaBaseCacheLimit)
SORT_AFTER = 64  # objects a process reads before it sorts a pack's offsets (_Pack.span)
UNSORTED_MOST = 4 << 20  # a larger object (or a corrupt header's size) has its end looked up all the same
MAX_CHAIN = 10_000  # deeper than git can write (pack.depth is capped at 4095): a cycle in a corrupt pack
_Apply = Callable[[bytes, bytes], list[bytes]]
_INFLATE_ERROR = cast("type[Exception]", isal_zlib.error)


class _Unreadable(Exception):
    """This reader cannot answer for an object (git is asked instead)."""


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
        self.pack = _open_pack(idx_path.with_suffix(".pack"))
        self.end = os.fstat(self.pack).st_size - oid_bytes  # the pack's checksum follows the last object
        self._starts: array[int] | None = None
        self._unsorted = 0  # objects read before the offsets were sorted

    def offset(self, raw: bytes) -> int | None:
        """The pack offset of the object named raw, or None when this pack does not hold it."""
        first, width, names = raw[0], self.width, self.names
        lo, hi = self.fanout[first - 1] if first else 0, self.fanout[first]
        lo, hi = bisect_left(self.second, raw[1], lo, hi), bisect_right(self.second, raw[1], lo, hi)
        lo, hi = bisect_left(self.third, raw[2], lo, hi), bisect_right(self.third, raw[2], lo, hi)
        while lo < hi:  # a name or two: a plain loop (runs for every blob read; a generator cost a third more)
            if names[lo * width:(lo + 1) * width] == raw:
                return self._decode(int.from_bytes(self.offsets[4 * lo:4 * lo + 4], "big"))
            lo += 1
        return None

    def _decode(self, value: int) -> int:
        if value & 0x80000000:
            large: int = struct.unpack_from(">Q", self.large, 8 * (value & 0x7FFFFFFF))[0]
            return large
        return value

    def span(self, offset: int, sort: bool = False) -> int | None:
        """Where the object at offset ends: the next object's offset (sorted once, after the first SORT_AFTER
        objects, or when `sort`). None before then: a process that reads a few objects (the parent's revisit
        of a blob or two, a rescan's new blobs) spares sorting them all (0.2 s on git/git's 849k objects)."""
        if self._starts is None:
            self._unsorted += 1
            if self._unsorted <= SORT_AFTER and not sort:
                return None
            values = struct.unpack(f">{len(self.offsets) // 4}I", self.offsets)
            if values and max(values) & 0x80000000:
                values = tuple(map(self._decode, values))
            self._starts = array("Q", sorted(values))  # an array: forked workers never touch refcounts
        at = bisect_right(self._starts, offset)
        return self._starts[at] if at < len(self._starts) else self.end

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.pack)


def _open_pack(path: Path) -> int:
    """A read descriptor of a version-2 or -3 pack file (ValueError for anything else)."""
    fd = os.open(path, os.O_RDONLY)
    head = os.pread(fd, 8, 0)
    if head[:4] != _PACK_MAGIC or struct.unpack(">I", head[4:8])[0] not in (2, 3):
        os.close(fd)
        raise ValueError("not a version-2 or -3 pack")
    return fd


class PackReader:
    """The packs of one repository, opened on first use in the process that reads them (each process's
    shared BlobReader holds one: gitobjects.shared_reader), with that process's cache of delta bases."""

    def __init__(self, git_dir: Path, oid_len: int) -> None:
        self.git_dir = git_dir
        self.oid_bytes = oid_len // 2
        self._packs: list[_Pack] | None = None
        self._apply: _Apply | None = None
        self._errors: tuple[type[Exception], ...] = (_Unreadable, _INFLATE_ERROR, IndexError, struct.error, OSError)
        self._cache: OrderedDict[tuple[int, int], bytes] = OrderedDict()  # (pack, offset) → a blob used as a base
        self._cached = 0

    def _open(self) -> list[_Pack]:
        if self._packs is None:
            self._packs = []
            try:
                from dulwich._pack import apply_delta
                from dulwich.errors import ApplyDeltaError
            except ImportError:  # without the compiled apply_delta, git reads every blob
                return self._packs
            self._apply, self._errors = apply_delta, (*self._errors, ApplyDeltaError)
            for idx in sorted((self.git_dir / "objects" / "pack").glob("*.idx")):
                with contextlib.suppress(OSError, ValueError, struct.error):
                    self._packs.append(_Pack(idx, self.oid_bytes))
        return self._packs

    def read(self, oid: str, base: str | None = None) -> tuple[bytes, Windows | None] | None:
        """Blob oid's bytes, and its changed windows when base is given and the pack stores the blob as a
        small delta against it; None when no pack holds it in a form read here (then ask git)."""
        raw = bytes.fromhex(oid)
        for number, pack in enumerate(self._open()):
            offset = pack.offset(raw)
            if offset is not None:
                try:
                    return self._blob(number, pack, offset, base)
                except self._errors:
                    return None
        return None

    def _blob(self, number: int, pack: _Pack, offset: int, base: str | None) -> tuple[bytes, Windows | None]:
        chain: list[tuple[int, bytes]] = []  # (the object's offset, its delta) from the blob down
        at = offset
        while (data := self._cache.get((number, at))) is None:
            kind, body, base_at = _object(pack, at)
            if base_at < 0:
                if kind != _BLOB:
                    raise _Unreadable("not a blob")
                data = body
                break
            chain.append((at, body))
            if len(chain) > MAX_CHAIN:
                raise _Unreadable("delta chain too deep")
            at = base_at
        else:  # only blobs are cached (a delta has its base's type)
            self._cache.move_to_end((number, at))
        blob = self._applied(number, at, chain, data)
        if chain:  # read in family_order, the next blob is often a delta resting on this one
            self._keep((number, offset), blob)
        return blob, self._windows(pack, chain, at, len(blob), base)

    def _applied(self, number: int, at: int, chain: list[tuple[int, bytes]], data: bytes) -> bytes:
        """Apply the chain's deltas up from data (the object at `at`), caching each base on the way."""
        assert self._apply is not None
        for depth in range(len(chain) - 1, -1, -1):
            self._keep((number, at), data)
            at, delta = chain[depth]
            data = b"".join(self._apply(data, delta))
        return data

    def _keep(self, key: tuple[int, int], data: bytes) -> None:
        if key in self._cache or len(data) > BASE_CACHE // 4:
            return
        self._cache[key] = data
        self._cached += len(data)
        while self._cached > BASE_CACHE:
            self._cached -= len(self._cache.popitem(last=False)[1])

    @staticmethod
    def _windows(pack: _Pack, chain: list[tuple[int, bytes]], bottom: int, size: int,
                 base: str | None) -> Windows | None:
        """The blob's changed windows, when it is stored as a small delta against base (the listing's)."""
        if base is None or not chain or len(chain[0][1]) > size * MAX_DELTA_SHARE:
            return None
        base_at = chain[1][0] if len(chain) > 1 else bottom
        if pack.offset(bytes.fromhex(base)) != base_at:
            return None  # another copy of the object, stored against another base: its changes vouch for nothing
        return changed_windows(chain[0][1], size)

    def close(self) -> None:
        """Close every pack and drop the cached bases."""
        for pack in self._packs or ():
            pack.close()
        self._packs = None
        self._cache.clear()
        self._cached = 0


def family_order(oids: Sequence[str], deltas: Mapping[str, str]) -> list[int]:
    """The positions of oids in an order that reads a delta right after its base: each family (the deltas
    resting on a blob outside oids, the deltas resting on them, and so on) depth first, each blob's
    deltas and the families in the order of oids. A pack's own order scatters a family: read in it, the
    base cache kept only half the bases a delta needed (git/git: 2 inflations a blob; in this order 1).
    Positions a cycle of deltas (a corrupt listing) leaves out come last, in their own order."""
    where = {oid: i for i, oid in enumerate(oids)}
    children: dict[int, list[int]] = {}
    tops: list[int] = []
    for i, oid in enumerate(oids):
        parent = where.get(deltas.get(oid, ""), -1)
        if parent < 0 or parent == i:
            tops.append(i)
        else:
            children.setdefault(parent, []).append(i)
    order: list[int] = []
    for top in tops:
        stack = [top]
        while stack:
            i = stack.pop()
            order.append(i)
            stack.extend(reversed(children.get(i, ())))
    if len(order) < len(oids):
        placed = set(order)
        order += [i for i in range(len(oids)) if i not in placed]
    return order


def _header(head: bytes) -> tuple[int, int, int]:
    """(type, inflated size, where the rest starts) of an object's header: 3 type bits and a varint size."""
    byte = head[0]
    kind, length, shift, pos = (byte >> 4) & 7, byte & 15, 4, 1
    while byte & 0x80:
        byte = head[pos]
        length, shift, pos = length | (byte & 0x7F) << shift, shift + 7, pos + 1
    return kind, length, pos


_MOST_RATIO = 1100  # deflate inflates at most ~1032 bytes per byte of its stream
_HEADER_MOST = 64  # an object's header (a size varint, a base's offset varint or name) is shorter


def _most(length: int) -> int:
    """The most bytes an object of this inflated length takes in a pack: its header, and a zlib stream no
    longer than its data stored raw (5 bytes a stored block: zlib's hold 16 KiB, so 1.5 % is ample; a stream
    longer still reads as truncated, and git is asked for the object)."""
    return _HEADER_MOST + length + length // 64 + 64


def _object(pack: _Pack, at: int) -> tuple[int, bytes, int]:
    """(type, inflated body, base offset or -1) of the object at offset at."""
    end = pack.span(at)
    if end is None:  # offsets not sorted yet: read as much as the object's stream can take (see _most)
        most = _most(_header(os.pread(pack.pack, _HEADER_MOST, at))[1])
        end = min(pack.end, at + most) if most <= UNSORTED_MOST else pack.span(at, sort=True)
        assert end is not None
    if not 0 < at < end <= pack.end:
        raise _Unreadable("object outside its pack")
    head = os.pread(pack.pack, end - at, at)
    kind, length, pos = _header(head)
    if length > (end - at) * _MOST_RATIO:  # a corrupt header: inflating into its size would exhaust memory
        raise _Unreadable("inflated size beyond what its stream can hold")
    base_at = -1
    if kind == _OFS_DELTA:
        byte = head[pos]
        distance, pos = byte & 0x7F, pos + 1
        while byte & 0x80:
            byte = head[pos]
            distance, pos = ((distance + 1) << 7) | (byte & 0x7F), pos + 1
        if not 0 < distance < at:
            raise _Unreadable("a delta base outside the pack")
        base_at = at - distance
    elif kind == _REF_DELTA:
        found = pack.offset(head[pos:pos + pack.width])
        if found is None:
            raise _Unreadable("a delta base in another pack")
        base_at, pos = found, pos + pack.width
    elif kind in (0, 5):
        raise _Unreadable(f"unknown object type {kind}")
    body = isal_zlib.decompress(memoryview(head)[pos:], bufsize=max(length, 1))
    if len(body) != length:
        raise _Unreadable("inflated size differs from the header's")
    return kind, body, base_at
