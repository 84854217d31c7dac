"""`gs://BUCKET/PREFIX` (Google Cloud Storage JSON API) and `azblob://ACCOUNT/CONTAINER[/PREFIX]` (Azure Blob REST).

Both list the objects under a prefix and download each one; every object becomes a blob named by its
key, so the expanders open what it is (archives, .env, logs…), exactly as for s3://.

gs://: `GET /storage/v1/b/BUCKET/o?prefix=` (nextPageToken pages), then `?alt=media&generation=G`.
`?versions=1` lists every generation. Credential: GOOGLE_OAUTH_ACCESS_TOKEN or GCS_ACCESS_TOKEN (an
OAuth access token, e.g. `gcloud auth print-access-token`; none for a public bucket). Base:
$TOKENWARD_GS_BASE_URL (default https://storage.googleapis.com). Incremental: the newest object
generation read (every write makes a new, larger generation number).

azblob://: List Blobs (`?restype=container&comp=list`, XML, NextMarker pages), then Get Blob.
Credential: AZURE_STORAGE_SAS_TOKEN (a SAS query string with read + list), AZURE_STORAGE_TOKEN (an
OAuth bearer token for https://storage.azure.com/) or AZURE_STORAGE_KEY (the account key: requests are
signed with Shared Key, the key itself is never sent). Base: $TOKENWARD_AZBLOB_BASE_URL (default
https://ACCOUNT.blob.core.windows.net). Incremental: the newest Last-Modified plus the ETags at that
second, as for s3://.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import xml.etree.ElementTree as ET
from collections.abc import Generator, Iterator
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, quote

import httpx

from tokenward.errors import ConfigError
from tokenward.expand.textutil import parse_xml
from tokenward.sources.interface import Blob, SkippedItem
from tokenward.sources.live.interface import (
    Api,
    LiveError,
    LiveSource,
    content_blob,
    error_item,
    http_client,
    paginate,
    too_large,
)
from tokenward.sources.live.s3 import ObjectRef, _cursor, _is_new, _parse_cursor

GCS_API = "https://storage.googleapis.com"
GCS_VARS = ("GOOGLE_OAUTH_ACCESS_TOKEN", "GCS_ACCESS_TOKEN")
AZ_VARS = ("AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_TOKEN", "AZURE_STORAGE_KEY")
SIGNED_HEADERS = ("content-encoding", "content-language", "content-length", "content-md5", "content-type", "date",
                  "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range")
AZ_VERSION = "2021-12-02"  # x-ms-version: bearer tokens need 2017-11-09 or later


class BucketSource(LiveSource):
    """What both object stores share: the prefix, the client, one object's download."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api: Api | None = None

    def download(self, url: str, location: str, size: int, details: tuple[tuple[str, str], ...], key: str,
                 params: dict[str, Any] | None = None) -> Blob | SkippedItem:
        """One object's bytes as a blob (too large: a policy skip; unreadable: an error skip)."""
        if (skip := too_large(size, location, self.options)) is not None:
            return skip
        assert self.api is not None
        try:
            data = self.api.get(url, params=params).content
        except LiveError as exc:
            return error_item(location, exc)
        self.stats["items"] += 1
        return content_blob(data[: self.options.max_size + 1], self.origin(key, (*details, ("url", location))),
                            location)

    def close(self) -> None:
        """Close the HTTP client."""
        if self.api is not None:
            self.api.close()


class GcsSource(BucketSource):
    """Objects (or every generation) under gs://BUCKET/PREFIX."""

    kind = "gs"

    def read(self) -> Iterator[Blob | SkippedItem]:
        """List the prefix, then download every object whose generation is newer than the cursor."""
        token = self.options.credentials.get(*GCS_VARS)
        self.api = http_client("Cloud Storage", self.options.base_url("gs", GCS_API), self.options,
                               headers={"Authorization": f"Bearer {token}"} if token else {},
                               hint=self.options.credentials.hint(*GCS_VARS))
        versions = self.target.flag("versions", False)
        stream = _folder(self.target.path) + ("?versions" if versions else "")
        since = int(self.cursor(stream) or 0)
        newest, failed = since, False
        for obj in sorted(self._listing(versions), key=lambda o: int(o.get("generation") or 0)):
            generation = int(obj.get("generation") or 0)
            if generation > since:
                item = self._object(obj)
                failed |= isinstance(item, SkippedItem) and item.severity == "error"
                newest = max(newest, generation)
                yield item
        if not failed:
            self.advance(stream, str(newest) if newest else None)

    def _listing(self, versions: bool) -> list[dict[str, Any]]:
        assert self.api is not None
        api, bucket = self.api, quote(self.target.host, safe="")
        params = {"prefix": _folder(self.target.path), "maxResults": 1000, **({"versions": "true"} if versions else {})}

        def fetch(cursor: str | None) -> tuple[list[Any], str | None]:
            doc = api.json(f"/storage/v1/b/{bucket}/o", params={**params, **({"pageToken": cursor} if cursor else {})})
            if not isinstance(doc, dict) or not isinstance(doc.get("items", []), list):
                raise LiveError(f"Cloud Storage: malformed object listing for gs://{self.target.host}")
            return [o for o in doc.get("items", []) if isinstance(o, dict)], doc.get("nextPageToken") or None
        return list(paginate(fetch))

    def _object(self, obj: dict[str, Any]) -> Blob | SkippedItem:
        name, generation = str(obj.get("name")), str(obj.get("generation") or "")
        location = f"gs://{self.target.host}/{name}" + (f"#{generation}" if generation else "")
        details = (("bucket", self.target.host), ("key", name), ("generation", generation),
                   ("md5", str(obj.get("md5Hash") or "")), ("updated", str(obj.get("updated") or "")))
        url = f"/storage/v1/b/{quote(self.target.host, safe='')}/o/{quote(name, safe='')}"
        return self.download(url, location, int(obj.get("size") or 0), details, name,
                             {"alt": "media", **({"generation": generation} if generation else {})})


class AzureBlobSource(BucketSource):
    """Blobs of azblob://ACCOUNT/CONTAINER[/PREFIX]."""

    kind = "azblob"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.container, _, prefix = self.target.path.partition("/")
        self.prefix = _folder(prefix)
        if not self.container:
            raise ConfigError(f"{self.target.url}: name a container (azblob://ACCOUNT/CONTAINER[/PREFIX])")
        self.sas: dict[str, str] = {}

    def read(self) -> Iterator[Blob | SkippedItem]:
        """List the container (under the prefix), then download each blob newer than the cursor."""
        self.api = self._client()
        since, at_since = _parse_cursor(self.cursor(self.target.path))
        listing = sorted(self._listing(), key=lambda o: (o.last_modified, o.key))
        failed = False
        for ref in listing:
            if _is_new(ref, since, at_since):
                item = self._blob(ref)
                failed |= isinstance(item, SkippedItem) and item.severity == "error"
                yield item
        if listing and not failed:
            self.advance(self.target.path, _cursor(listing))

    def _client(self) -> Api:
        creds = self.options.credentials
        sas, bearer, key = (creds.get(name) for name in AZ_VARS)
        self.sas = dict(parse_qsl((sas or "").lstrip("?")))  # sent as query parameters on every request
        headers = {"x-ms-version": AZ_VERSION, **({"Authorization": f"Bearer {bearer}"} if bearer and not sas else {})}
        auth = SharedKey(self.target.host, key) if key and not (sas or bearer) else None
        base = self.options.base_url("azblob", f"https://{self.target.host}.blob.core.windows.net")
        return http_client("Azure Blob", base, self.options, headers=headers, auth=auth, hint=creds.hint(*AZ_VARS))

    def _get(self, url: str, **params: Any) -> Any:
        """GET with the SAS; a 403 (Azure's answer to an expired or wrong SAS or token) says where to fix it."""
        assert self.api is not None
        try:
            return self.api.get(url, params={**params, **self.sas})
        except LiveError as exc:
            if exc.status != 403:
                raise
            raise LiveError(f"Azure Blob refused the credential (HTTP 403 AuthenticationFailed or "
                            f"AuthorizationPermissionMismatch: expired, revoked, wrong or without read/list); "
                            f"{self.options.credentials.hint(*AZ_VARS)}", 401) from None

    def _listing(self) -> list[ObjectRef]:
        def fetch(cursor: str | None) -> tuple[list[ObjectRef], str | None]:
            response = self._get(f"/{quote(self.container)}", restype="container", comp="list", prefix=self.prefix,
                                 maxresults=5000, **({"marker": cursor} if cursor else {}))
            try:
                root = parse_xml(response.content)
            except (ET.ParseError, ValueError):
                raise LiveError(f"Azure Blob sent a malformed List Blobs body for {self.container}") from None
            return [_ref(b) for b in root.iter("Blob")], (root.findtext("NextMarker") or None)
        return list(paginate(fetch))

    def _blob(self, ref: ObjectRef) -> Blob | SkippedItem:
        location = f"azblob://{self.target.host}/{self.container}/{ref.key}"
        if (skip := too_large(ref.size, location, self.options)) is not None:
            return skip
        try:
            data = self._get(f"/{quote(self.container)}/{quote(ref.key)}").content
        except LiveError as exc:
            return error_item(location, exc)
        self.stats["items"] += 1
        details = (("account", self.target.host), ("container", self.container), ("key", ref.key),
                   ("etag", ref.etag), ("last_modified", ref.stamp), ("url", location))
        return content_blob(data[: self.options.max_size + 1], self.origin(ref.key, details), location)


class SharedKey(httpx.Auth):
    """Azure Storage Shared Key: each request signed (HMAC-SHA256 with the account key) over its canonical form."""

    def __init__(self, account: str, key: str) -> None:
        try:
            self.key = base64.b64decode(key, validate=True)
        except ValueError:
            raise LiveError("AZURE_STORAGE_KEY is not a base64 account key") from None
        self.account = account

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Date the request, then sign it."""
        request.headers["x-ms-date"] = formatdate(usegmt=True)
        signature = hmac.new(self.key, string_to_sign(request, self.account).encode(), hashlib.sha256).digest()
        request.headers["Authorization"] = f"SharedKey {self.account}:{base64.b64encode(signature).decode()}"
        yield request


def string_to_sign(request: httpx.Request, account: str) -> str:
    """The Shared Key string to sign (Blob service, version 2009-09-19 and later)."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    fixed = [headers.get(name, "") for name in SIGNED_HEADERS]
    fixed[2] = "" if fixed[2] == "0" else fixed[2]  # Content-Length: empty, not 0, for an empty body
    ms = "".join(f"{k}:{v.strip()}\n" for k, v in sorted(headers.items()) if k.startswith("x-ms-"))
    params: dict[str, list[str]] = {}
    for name, value in request.url.params.multi_items():
        params.setdefault(name.lower(), []).append(value)
    query = "".join(f"\n{k}:{','.join(sorted(v))}" for k, v in sorted(params.items()))
    path = request.url.raw_path.split(b"?", 1)[0].decode()
    return "\n".join([request.method, *fixed]) + "\n" + ms + f"/{account}{path}" + query


def _folder(prefix: str) -> str:
    """A key prefix as a folder (`app` → `app/`, as s3:// does): `app` must not also read `apple/`."""
    return prefix + "/" if prefix and not prefix.endswith("/") else prefix


def _ref(blob: ET.Element) -> ObjectRef:
    """A List Blobs <Blob> element as an object reference (Last-Modified is an RFC 1123 date)."""
    props = blob.find("Properties")

    def text(tag: str) -> str:
        return (props.findtext(tag) if props is not None else None) or ""
    modified = parsedate_to_datetime(text("Last-Modified") or "Thu, 01 Jan 1970 00:00:00 GMT")
    return ObjectRef(blob.findtext("Name") or "", text("Etag").strip('"'), int(text("Content-Length") or 0), modified)
