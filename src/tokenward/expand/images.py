"""Container images: `docker save` tarballs and OCI image layouts (as a tar).

Every layer is read, so files deleted by a later layer (whiteouts) are still scanned and marked;
the image config's environment, labels and history commands are scanned too.
"""

from __future__ import annotations

import io
import json
import posixpath
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tokenward.expand.base import (
    STREAM_ERRORS,
    Ctx,
    Details,
    Item,
    Member,
    child,
    decompressor,
    error,
    read_bounded,
    read_tar_member,
    text_blob,
)
from tokenward.sources.interface import Blob

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


@dataclass(frozen=True)
class Image:
    """One image of the tar: a display name, its config member and its layers (member, digest)."""

    name: str
    config: str
    layers: tuple[tuple[str, str], ...]


def is_image_tar(names: list[str]) -> bool:
    """True for a docker save tarball or an OCI image layout packed as a tar."""
    listed = set(names)
    return ("manifest.json" in listed and any(n.endswith("layer.tar") or n.startswith("blobs/") for n in names)) \
        or "oci-layout" in listed


def _json(tf: tarfile.TarFile, name: str) -> Any:
    try:
        f = tf.extractfile(name)
        return json.loads(f.read()) if f else None
    except STREAM_ERRORS:  # KeyError (missing member) is one of them
        return None


def _blob_path(digest: str) -> str:
    return "blobs/" + digest.replace(":", "/", 1)


def docker_images(tf: tarfile.TarFile) -> list[Image]:
    """Images listed in a docker save manifest.json (layer digests from the config's diff_ids)."""
    out = []
    for entry in _json(tf, "manifest.json") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
            continue
        config = _json(tf, entry["Config"]) or {}
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
        layers = [str(x) for x in entry.get("Layers") or []]
        digests = [diff_ids[i] if i < len(diff_ids) else layer for i, layer in enumerate(layers)]
        name = ", ".join(entry.get("RepoTags") or []) or entry["Config"][:19]
        out.append(Image(name, entry["Config"], tuple(zip(layers, digests, strict=True))))
    return out


def oci_images(tf: tarfile.TarFile) -> list[Image]:
    """Images of an OCI layout: index.json → (nested indexes) → manifests → config and layers."""
    out: list[Image] = []
    pending = [(m, "") for m in (_json(tf, "index.json") or {}).get("manifests") or []]
    while pending and len(out) < 1000:
        desc, name = pending.pop(0)
        doc = _json(tf, _blob_path(str(desc.get("digest", ""))))
        name = (desc.get("annotations") or {}).get("org.opencontainers.image.ref.name") or name
        if not isinstance(doc, dict):
            continue
        if doc.get("manifests"):
            pending += [(m, name) for m in doc["manifests"] if isinstance(m, dict)]
            continue
        config = str((doc.get("config") or {}).get("digest", ""))
        layers = tuple((_blob_path(str(x.get("digest"))), str(x.get("digest"))) for x in doc.get("layers") or [])
        out.append(Image(name or str(desc.get("digest", ""))[:19], _blob_path(config), layers))
    return out


def config_blobs(blob: Blob, tf: tarfile.TarFile, image: Image) -> Iterator[Item]:
    """The config's env vars, labels, command and history commands."""
    config = _json(tf, image.config)
    if not isinstance(config, dict):
        return
    inner = config.get("config") or config.get("container_config") or {}
    env = [str(e) for e in inner.get("Env") or []]
    labels = [f"{k}={v}" for k, v in (inner.get("Labels") or {}).items()]
    command = [" ".join(map(str, inner.get(k) or [])) for k in ("Entrypoint", "Cmd")]
    history = [str(h.get("created_by", "")) for h in config.get("history") or [] if isinstance(h, dict)]
    for part, lines in (("config env", env), ("config labels", labels), ("config command", command),
                        ("history", history)):
        if any(lines):
            details = (("image", image.name), ("part", part), ("lines", "one per entry"))
            yield text_blob(blob.origin, "image", "\n".join(lines), details, image.config)


def expand_image_tar(blob: Blob, tf: tarfile.TarFile, ctx: Ctx) -> Iterator[Item]:
    """Each image's config and every file of every layer, last layer first (to know what was deleted later)."""
    images = docker_images(tf) if "manifest.json" in tf.getnames() else []
    images = images or oci_images(tf)
    if not images:
        yield error(blob.origin.path, "container image without a readable manifest")
        return
    done: set[str] = set()
    for image in images:
        yield from config_blobs(blob, tf, image)
        deleted: set[str] = set()
        for index in range(len(image.layers) - 1, -1, -1):
            member, digest = image.layers[index]
            details = (("image", image.name), ("layer", digest), ("layer_index", str(index + 1)))
            if member not in done:  # a layer shared by several images is read once
                done.add(member)
                yield from _layer(blob, tf, member, details, deleted, ctx)


def _layer_tar(blob: Blob, tf: tarfile.TarFile, member: str, ctx: Ctx) -> tuple[tarfile.TarFile | None, list[Item]]:
    loc = f"{blob.origin.path}!/{member}"
    try:
        info = tf.getmember(member)
    except KeyError:
        return None, [error(loc, "layer listed in the manifest is missing from the image")]
    data, problem = read_tar_member(tf, info, loc, ctx)
    problems: list[Item] = [problem] if problem else []
    if not data:
        return None, problems
    if data[:2] == b"\x1f\x8b" or data[:4] == b"\x28\xb5\x2f\xfd":
        data, problem = read_bounded(decompressor("gzip" if data[:1] == b"\x1f" else "zstd", data), len(data), loc, ctx)
        problems += [problem] if problem else []
    try:
        return tarfile.open(fileobj=io.BytesIO(data), mode="r:"), problems
    except STREAM_ERRORS as exc:
        return None, [*problems, error(loc, f"corrupt layer: {exc}")]


def _deleted(path: str, deleted: set[str]) -> bool:
    parts = path.strip("/").split("/")
    return any("/".join(parts[:i]) in deleted for i in range(1, len(parts) + 1))


def _layer(blob: Blob, tf: tarfile.TarFile, member: str, details: Details, deleted: set[str],
           ctx: Ctx) -> Iterator[Item]:
    layer, problems = _layer_tar(blob, tf, member, ctx)
    yield from problems
    if layer is None:
        return
    later = set(deleted)
    reported = len(problems)
    with layer:
        for info in _infos(layer, blob, member, problems):
            name = info.name.lstrip("./")
            base = posixpath.basename(name)
            if base.startswith(WHITEOUT):
                parent = posixpath.dirname(name)
                deleted.add(parent if base == OPAQUE else posixpath.join(parent, base[len(WHITEOUT):]))
                continue
            if not info.isfile() or ctx.budget.stopped:
                continue
            data, problem = read_tar_member(layer, info, f"{blob.origin.path}!/{member}!/{name}", ctx)
            if problem:
                yield problem
            if data is not None:
                extra = (("deleted_in_later_layer", "yes"),) if _deleted(name, later) else ()
                yield Member(Blob(data, child(blob.origin, "image", f"{member}!/{name}", details + extra)))
    yield from problems[reported:]


def _infos(layer: tarfile.TarFile, blob: Blob, member: str, problems: list[Item]) -> Iterator[tarfile.TarInfo]:
    while True:
        try:
            info = layer.next()
        except STREAM_ERRORS as exc:
            problems.append(error(f"{blob.origin.path}!/{member}", f"corrupt or truncated layer: {exc}"))
            return
        if info is None:
            return
        yield info
