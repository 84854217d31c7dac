"""`docker://REGISTRY/NAME:TAG` (or `@sha256:…`): an image pulled through the registry HTTP API v2, no daemon.

The manifest (an index or manifest list picks `?platform=linux/amd64` by default), the config and
every layer are fetched, checked against their digests, and packed as an OCI image layout: one blob
that the image expander opens like a `docker save` tarball (every layer, files deleted by later
layers, config env, labels and history), so findings name the image, layer digest and file.

Credentials: REGISTRY_USERNAME + REGISTRY_PASSWORD (or a token as the password), used for Basic auth
or for the token exchange a `WWW-Authenticate: Bearer realm=…` challenge asks for; anonymous pulls
need nothing. Plain HTTP for localhost or `?insecure=1`. Incremental: the manifest digest per tag
(an unchanged image is not pulled again).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from collections.abc import Generator, Iterator
from typing import Any

import httpx

from tokenward.sources.interface import Blob, SkippedItem
from tokenward.sources.live.interface import Api, LiveError, LiveSource, http_client

INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v2+json")
ACCEPT = ", ".join((*MANIFEST_TYPES, *INDEX_TYPES))
MAX_IMAGE_BYTES = 4 << 30  # compressed layers; larger images are skipped (the expander inflates within its limits)
CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
LOCAL = ("localhost", "127.0.0.1", "[::1]")


class RegistryAuth(httpx.Auth):
    """Basic credentials, or the bearer-token exchange of a `WWW-Authenticate: Bearer` challenge."""

    def __init__(self, user: str | None, secret: str | None, timeout: float) -> None:
        self.basic = httpx.BasicAuth(user, secret) if user and secret else None
        self.timeout = timeout
        self.token: str | None = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send; on a 401 challenge get a token (or use basic credentials) and send once more."""
        if self.token:
            request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        challenge = response.headers.get("www-authenticate", "")
        if response.status_code != 401 or not challenge:
            return
        if challenge.lower().startswith("bearer"):
            self.token = self._exchange(dict(CHALLENGE.findall(challenge)))
            if self.token is None:
                return
            request.headers["Authorization"] = f"Bearer {self.token}"
        elif self.basic is not None:
            request.headers["Authorization"] = self.basic._auth_header
        else:
            return
        yield request

    def _exchange(self, params: dict[str, str]) -> str | None:
        realm = params.pop("realm", "")
        if not realm.startswith(("https://", "http://")):
            return None
        with httpx.Client(timeout=self.timeout, auth=self.basic) as client:
            response = client.get(realm, params=params)
        if not response.is_success:
            return None
        try:
            doc = response.json()
        except ValueError:
            return None
        return str(doc.get("token") or doc.get("access_token") or "") or None if isinstance(doc, dict) else None


class RegistrySource(LiveSource):
    """One image (one platform of a multi-platform tag) from a registry."""

    kind = "image"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.registry, self.name, self.reference = _split(self.target.host, self.target.path)
        self.api: Api | None = None

    def read(self) -> Iterator[Blob | SkippedItem]:
        """Manifest, then (when its digest changed) config and layers as one OCI layout blob."""
        creds = self.options.credentials
        user = creds.get("REGISTRY_USERNAME", "DOCKER_USERNAME")
        secret = creds.get("REGISTRY_PASSWORD", "DOCKER_PASSWORD")
        insecure = self.target.flag("insecure", self.registry.split(":")[0] in LOCAL or self.registry in LOCAL)
        base = self.options.base_url("registry", f"{'http' if insecure else 'https'}://{self.registry}")
        self.api = http_client("registry", base, self.options, headers={"Accept": ACCEPT},
                               auth=RegistryAuth(user, secret, self.options.http.timeout),
                               hint=creds.hint("REGISTRY_USERNAME + REGISTRY_PASSWORD"))
        manifest, media_type, digest = self._manifest(self.reference)
        stream = f"{self.name}:{self.reference}"
        if self.cursor(stream) == digest:
            return  # the tag still points at the image already scanned
        layout = self._layout(manifest, media_type, digest)
        if isinstance(layout, SkippedItem):
            yield layout
            return
        self.stats["items"] += 1
        details = (("registry", self.registry), ("repository", self.name), ("reference", self.reference),
                   ("digest", digest))
        yield Blob(layout, self.origin(f"{self.name}@{digest}", details))
        self.advance(stream, digest)

    def _get(self, path: str) -> tuple[bytes, str]:
        """Body and content type of a registry GET (redirects to blob storage followed, without our auth)."""
        assert self.api is not None
        response = self.api.get(path, follow_redirects=True)
        return response.content, response.headers.get("content-type", "").split(";")[0]

    def _manifest(self, reference: str) -> tuple[dict[str, Any], str, str]:
        """(manifest, media type, digest) of reference; an index resolves to the wanted platform's manifest."""
        body, media_type = self._get(f"/v2/{self.name}/manifests/{reference}")
        doc = _json(body, "manifest")
        media_type = str(doc.get("mediaType") or media_type)
        if media_type in INDEX_TYPES or "manifests" in doc:
            return self._manifest(self._platform(doc))
        digest = _digest(body)
        if reference.startswith("sha256:") and reference != digest:
            raise LiveError(f"registry: manifest digest mismatch ({digest} for {reference})")
        return doc, media_type or MANIFEST_TYPES[0], digest

    def _platform(self, index: dict[str, Any]) -> str:
        wanted = (self.target.param("platform") or "linux/amd64").split("/")
        entries = [m for m in index.get("manifests") or [] if isinstance(m, dict)]
        for entry in entries:
            p = entry.get("platform") or {}
            if [p.get("os"), p.get("architecture"), *([p.get("variant")] if len(wanted) > 2 else [])] == wanted:
                return str(entry["digest"])
        raise LiveError(f"registry: {self.name}:{self.reference} has no {'/'.join(wanted)} image "
                        f"({', '.join(_platform_name(e) for e in entries) or 'no platforms'}; use ?platform=)")

    def _layout(self, manifest: dict[str, Any], media_type: str, digest: str) -> bytes | SkippedItem:
        """An OCI image layout tar holding the manifest, config and layers (each digest verified)."""
        descriptors = [manifest.get("config") or {}, *(manifest.get("layers") or [])]
        total = sum(int(d.get("size") or 0) for d in descriptors if isinstance(d, dict))
        location = f"{self.root}@{digest}"
        if total > MAX_IMAGE_BYTES:
            return SkippedItem(location, f"image too large ({total} compressed bytes > {MAX_IMAGE_BYTES})")
        body = json.dumps(manifest).encode()
        blobs = {_digest(body): body}
        for d in descriptors:
            if isinstance(d, dict) and d.get("digest"):
                data, _ = self._get(f"/v2/{self.name}/blobs/{d['digest']}")
                if _digest(data) != d["digest"]:
                    return SkippedItem(location, f"layer {d['digest']} does not match its digest (corrupt)", "error")
                blobs[str(d["digest"])] = data
        ref = f"{self.registry}/{self.name}:{self.reference}"
        index = {"schemaVersion": 2, "manifests": [{"mediaType": media_type, "digest": _digest(body), "size": len(body),
                                                    "annotations": {"org.opencontainers.image.ref.name": ref}}]}
        return _tar({"oci-layout": b'{"imageLayoutVersion": "1.0.0"}', "index.json": json.dumps(index).encode(),
                     **{f"blobs/{k.replace(':', '/', 1)}": v for k, v in blobs.items()}})

    def close(self) -> None:
        """Close the HTTP client."""
        if self.api is not None:
            self.api.close()


def _split(host: str, path: str) -> tuple[str, str, str]:
    """(registry, repository name, tag or digest); Docker Hub names gain their library/ namespace."""
    name, reference = (path.split("@", 1) if "@" in path else
                       (path.rsplit(":", 1) if ":" in path.rsplit("/", 1)[-1] else (path, "latest")))
    if host in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        host, name = "registry-1.docker.io", name if "/" in name else f"library/{name}"
    return host, name, reference


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _json(body: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except ValueError:
        raise LiveError(f"registry sent a malformed {what} ({len(body)} bytes)") from None
    if not isinstance(doc, dict):
        raise LiveError(f"registry sent a malformed {what} (not a JSON object)")
    return doc


def _platform_name(entry: dict[str, Any]) -> str:
    p = entry.get("platform") or {}
    return "/".join(str(x) for x in (p.get("os"), p.get("architecture"), p.get("variant")) if x)


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()
