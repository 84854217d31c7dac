"""Archives and compressed streams: zip (jar/war/whl/nupkg/…), tar, gzip, bzip2, xz, zstd and 7z.

Members are read one at a time into memory within the limits (never extracted to disk, so names
such as ../../etc/passwd are only labels) and handed back to be sniffed and expanded again.
"""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

from tokenward.expand import cilogs, documents, images, slack
from tokenward.expand.base import (
    STREAM_ERRORS,
    Ctx,
    Item,
    Member,
    charge,
    child,
    decompressor,
    error,
    inner_name,
    policy,
    read_bounded,
    read_tar_member,
    read_zip_member,
    take_entry,
)
from tokenward.expand.detect import basename
from tokenward.sources.interface import Blob

OCI_BLOB = re.compile(r"(?:^|/)blobs/sha256/([0-9a-f]{64})(?:$|!/)")
ZipHandler = Callable[[Blob, zipfile.ZipFile, Ctx], Iterator[Item]]
MAX_LISTED_LINKS = 20  # links and devices of one tar listed as skipped one by one (the rest are counted)
TarHandler = Callable[[Blob, tarfile.TarFile, Ctx], Iterator[Item]]
# Zip-based formats recognised from their member names, tried in order before a plain archive.
ZIP_FLAVOURS: tuple[tuple[Callable[[list[str]], bool], ZipHandler], ...] = (
    (documents.is_office_zip, documents.expand_office_zip),
    (slack.is_slack_zip, slack.expand_slack_zip),
    (cilogs.is_actions_zip, cilogs.expand_actions_zip),
)
TAR_FLAVOURS: tuple[tuple[Callable[[list[str]], bool], TarHandler], ...] = (
    (images.is_image_tar, images.expand_image_tar),
)


def expand_zip(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """A zip file: a zip-based format when its names say so, else each member."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(blob.data))
        names = zf.namelist()
    except STREAM_ERRORS as exc:
        yield error(blob.origin.path, f"corrupt or truncated zip: {exc}")
        return
    for accepts, handler in ZIP_FLAVOURS:
        if accepts(names):
            yield from handler(blob, zf, ctx)
            return
    yield from zip_members(blob, zf, ctx)


def zip_members(blob: Blob, zf: zipfile.ZipFile, ctx: Ctx, kind: str = "archive") -> Iterator[Item]:
    """Every file member of a zip, as Members to expand further."""
    for info in zf.infolist():
        if ctx.budget.stopped:
            return
        if info.is_dir():
            continue
        data, problem = read_zip_member(zf, info, f"{blob.origin.path}!/{info.filename}", ctx, skip_binary=True)
        if problem:
            yield problem
        if data is not None:
            yield Member(Blob(data, child(blob.origin, kind, info.filename)))


def _tar_names(data: bytes) -> list[str]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tf:
            return tf.getnames()
    except STREAM_ERRORS:
        return []  # damaged: read what is there, member by member


def expand_tar(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """A tar file: a container image when its names say so, else each regular file."""
    names = _tar_names(blob.data)
    for accepts, handler in TAR_FLAVOURS:
        if names and accepts(names):
            with tarfile.open(fileobj=io.BytesIO(blob.data), mode="r:") as tf:
                yield from handler(blob, tf, ctx)
            return
    yield from tar_members(blob, ctx)


def tar_members(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """Every regular file of a tar (in order), as Members; a truncated tar yields what precedes the damage.

    A tar under blobs/sha256/ is an image layer of an unpacked OCI layout: its files are labelled so.
    """
    layer = OCI_BLOB.search(blob.origin.path)
    kind, details = ("image", (("layer", f"sha256:{layer.group(1)}"),)) if layer else ("archive", ())
    try:
        tf = tarfile.open(fileobj=io.BytesIO(blob.data), mode="r:")  # noqa: SIM115 - closed by the with below
    except STREAM_ERRORS as exc:
        yield error(blob.origin.path, f"corrupt or truncated tar: {exc}")
        return
    not_files = 0
    with tf:
        while not ctx.budget.stopped:
            try:
                info = tf.next()
            except STREAM_ERRORS as exc:
                yield error(blob.origin.path, f"corrupt or truncated tar: {exc}")
                return
            if info is None:
                if not_files > MAX_LISTED_LINKS:
                    yield policy(blob.origin.path, f"{not_files - MAX_LISTED_LINKS} more links or devices not read")
                return
            if not info.isfile() and not info.isdir():  # links are never followed, devices never read
                not_files += 1
                if not_files <= MAX_LISTED_LINKS:
                    yield policy(f"{blob.origin.path}!/{info.name}", _not_a_file(info))
            elif info.isfile():
                data, problem = read_tar_member(tf, info, f"{blob.origin.path}!/{info.name}", ctx)
                if data is not None:
                    yield Member(Blob(data, child(blob.origin, kind, info.name, details)))
                if problem:
                    yield problem
                    if problem.severity == "error":
                        return  # the tar is cut or damaged here: nothing after it can be read


def _not_a_file(info: tarfile.TarInfo) -> str:
    # The class first, the member's own part in parentheses: the scan summary counts reasons by class, and
    # one class per link target made a tar of many links fill it (and say what the filesystem says).
    if info.issym():
        return f"symbolic link not followed (to {info.linkname})"
    if info.islnk():
        return f"hard link not followed (to {info.linkname})"
    return "device or fifo (not read)" if info.isdev() else f"tar member of type {info.type!r} (not read)"


def expand_compressed(blob: Blob, ctx: Ctx, fmt: str) -> Iterator[Item]:
    """A single compressed stream: its content (read within the limits) as one Member."""
    loc = blob.origin.path
    data, problem = read_bounded(decompressor(fmt, blob.data), len(blob.data), loc, ctx)
    if problem:
        yield problem
    if not data:
        return
    # a.tar.gz's members read as a.tar.gz!/member, not a.tar.gz!/a.tar!/member
    name = None if data[257:262] == b"ustar" else inner_name(basename(loc))
    yield Member(Blob(data, child(blob.origin, "archive", name)))


def _7z_errors() -> tuple[type[Exception], ...]:
    import py7zr

    return (py7zr.exceptions.ArchiveError, *STREAM_ERRORS)


def expand_7z(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """A 7z archive: each member (encrypted archives are counted, not opened)."""
    import py7zr  # imported here: loading it costs ~50 ms and most scans meet no 7z file

    try:
        archive = py7zr.SevenZipFile(io.BytesIO(blob.data))
    except py7zr.exceptions.PasswordRequired:
        yield error(blob.origin.path, "encrypted archive (no password; not scanned)")
        return
    except _7z_errors() as exc:
        yield error(blob.origin.path, f"corrupt or truncated 7z: {exc}")
        return
    with archive:
        yield from _7z_members(blob, archive, ctx)


def _7z_members(blob: Blob, archive: Any, ctx: Ctx) -> Iterator[Item]:
    import py7zr

    if archive.needs_password():
        yield error(blob.origin.path, "encrypted archive (no password; not scanned)")
        return
    files = [f for f in archive.list() if not f.is_directory]
    declared = sum(f.uncompressed or 0 for f in files)
    skip = charge(ctx, declared, blob.origin.path)
    if skip:
        yield skip
        return
    factory = py7zr.io.BytesIOFactory(ctx.limits.max_member_bytes)
    try:
        archive.extractall(factory=factory)
    except _7z_errors() as exc:
        yield error(blob.origin.path, f"corrupt or truncated 7z: {exc}")
    for f in files:
        if (skip := take_entry(ctx, f"{blob.origin.path}!/{f.filename}")) is not None:
            yield skip
            return
        product = factory.products.get(f.filename)
        if product is not None:
            product.seek(0)
            yield Member(Blob(product.read(), child(blob.origin, "archive", f.filename)))


def expand_gzip(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """A gzip stream."""
    return expand_compressed(blob, ctx, "gzip")


def expand_bzip2(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """A bzip2 stream."""
    return expand_compressed(blob, ctx, "bzip2")


def expand_xz(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """An xz stream."""
    return expand_compressed(blob, ctx, "xz")


def expand_zstd(blob: Blob, ctx: Ctx) -> Iterator[Item]:
    """A zstd stream."""
    return expand_compressed(blob, ctx, "zstd")

