"""`s3://BUCKET/PREFIX[?versions=1&region=R]`: every object under a prefix, through boto3.

Each object becomes a blob named by its key, so the expanders open what it is (archives, Slack
exports, .env, CloudTrail gzip…). With `versions=1` every stored version is read (a secret that was
"deleted" by overwriting the object is still in the old version). Incremental: the cursor is the
newest LastModified read plus the ETags of the objects at that very second (S3 keeps one-second
timestamps), so a rerun reads only objects written or overwritten since.

Credentials: boto3's own chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN,
AWS_PROFILE, instance roles), or the same names in --auth-file. Endpoint: $TOKENWARD_S3_BASE_URL
(MinIO, moto, …) or boto3's AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tokenward.errors import ConfigError
from tokenward.sources.interface import Blob, SkippedItem
from tokenward.sources.live.interface import LiveError, LiveSource, content_blob, too_large

PAGE = 1000
CREDENTIAL_CODES = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
                              "TokenRefreshRequired", "AuthFailure", "UnrecognizedClientException"})
HINT = "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the environment or in --auth-file"


@dataclass(frozen=True)
class ObjectRef:
    """One object (version) from the listing."""

    key: str
    etag: str
    size: int
    last_modified: datetime
    version_id: str | None = None

    @property
    def stamp(self) -> str:
        """LastModified as ISO 8601 UTC (what the cursor compares)."""
        return self.last_modified.strftime("%Y-%m-%dT%H:%M:%SZ")


def client_error_reason(exc: Exception, what: str) -> str:
    """A clear reason for a boto3 error (its code and status; never the request's credentials)."""
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    code = str((response.get("Error") or {}).get("Code") or type(exc).__name__)
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    if code in CREDENTIAL_CODES:
        return f"S3 rejected the credential ({code}: expired, revoked or wrong) reading {what}; {HINT}"
    if code in ("AccessDenied", "403", "AllAccessDisabled"):
        return f"S3 refused access to {what} (AccessDenied: the credential lacks s3:GetObject/s3:ListBucket)"
    if code in ("NoCredentialsError", "PartialCredentialsError"):
        return f"no AWS credentials for {what}; {HINT}"
    if code in ("NoSuchBucket", "NoSuchKey", "404"):
        return f"S3: {what} does not exist ({code})"
    return f"S3 error reading {what}: {code}{f' (HTTP {status})' if status else ''}"


class S3Source(LiveSource):
    """Objects (or object versions) under s3://BUCKET/PREFIX."""

    kind = "s3"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if importlib.util.find_spec("boto3") is None:
            raise ConfigError("s3:// targets need boto3: pip install 'tokenward[s3]'")
        self.bucket = self.target.host
        self.prefix = self.target.path + ("/" if self.target.path and not self.target.path.endswith("/") else "")
        self.versions = self.target.flag("versions", False)
        self._client: Any = None

    def client(self) -> Any:
        """A boto3 S3 client: endpoint override, credentials from the environment or --auth-file."""
        import boto3
        from botocore.config import Config

        creds = self.options.credentials
        session = boto3.session.Session(
            aws_access_key_id=creds.get("AWS_ACCESS_KEY_ID"), aws_secret_access_key=creds.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=creds.get("AWS_SESSION_TOKEN"), profile_name=creds.get("AWS_PROFILE"),
            region_name=self.target.param("region") or creds.get("AWS_REGION", "AWS_DEFAULT_REGION") or "us-east-1")
        http = self.options.http
        config = Config(retries={"max_attempts": http.retries + 1, "mode": "adaptive"},
                        connect_timeout=http.timeout, read_timeout=http.timeout)
        endpoint = self.options.base_url("s3", "") or None
        return session.client("s3", endpoint_url=endpoint, config=config)

    def read(self) -> Iterator[Blob | SkippedItem]:
        """List the prefix, then read each object newer than the cursor."""
        from botocore.exceptions import BotoCoreError, ClientError

        stream = self.prefix + ("?versions" if self.versions else "")
        since, at_since = _parse_cursor(self.cursor(stream))
        try:
            self._client = self.client()
            listing = sorted(self._listing(), key=lambda o: (o.last_modified, o.key, o.version_id or ""))
        except (ClientError, BotoCoreError) as exc:
            raise LiveError(client_error_reason(exc, f"s3://{self.bucket}/{self.prefix}")) from None
        fresh = [o for o in listing if _is_new(o, since, at_since)]
        failed = False
        for ref in fresh:
            item = self._object(ref)
            failed |= isinstance(item, SkippedItem) and item.severity == "error"
            yield item
        if listing and not failed:
            self.advance(stream, _cursor(listing))

    def _listing(self) -> Iterator[ObjectRef]:
        if self.versions:
            pages = self._client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=self.prefix, PaginationConfig={"PageSize": PAGE})
            for page in pages:
                for v in page.get("Versions") or []:  # DeleteMarkers hold no content
                    yield ObjectRef(v["Key"], v.get("ETag", "").strip('"'), int(v.get("Size", 0)), v["LastModified"],
                                    v.get("VersionId"))
            return
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix, PaginationConfig={"PageSize": PAGE})
        for page in pages:
            for o in page.get("Contents") or []:
                yield ObjectRef(o["Key"], o.get("ETag", "").strip('"'), int(o.get("Size", 0)), o["LastModified"])

    def _object(self, ref: ObjectRef) -> Blob | SkippedItem:
        """One object's bytes as a blob (too large: a policy skip; unreadable: an error skip)."""
        from botocore.exceptions import BotoCoreError, ClientError

        location = f"s3://{self.bucket}/{ref.key}" + (f"?versionId={ref.version_id}" if ref.version_id else "")
        if (skip := too_large(ref.size, location, self.options)) is not None:
            return skip
        extra = {"VersionId": ref.version_id} if ref.version_id else {}
        try:
            body = self._client.get_object(Bucket=self.bucket, Key=ref.key, **extra)["Body"]
            data = body.read(self.options.max_size + 1)
            body.close()
        except (ClientError, BotoCoreError) as exc:
            return SkippedItem(location, client_error_reason(exc, location), "error")
        self.stats["items"] += 1
        details = [("bucket", self.bucket), ("key", ref.key), ("etag", ref.etag), ("last_modified", ref.stamp)]
        details += [("version_id", ref.version_id)] if ref.version_id else []
        return content_blob(data, self.origin(ref.key, (*details, ("url", location))), location)

    def close(self) -> None:
        """Drop the boto3 client (it holds a connection pool)."""
        if self._client is not None:
            self._client.close()
            self._client = None


def _parse_cursor(raw: str | None) -> tuple[str, dict[str, str]]:
    """(newest LastModified read, {key: etag} of the objects at that second}); ("", {}) for none."""
    if not raw:
        return "", {}
    try:
        doc = json.loads(raw)
        return str(doc["last_modified"]), {str(k): str(v) for k, v in dict(doc.get("etags") or {}).items()}
    except (ValueError, KeyError, TypeError):
        return "", {}  # unreadable: read everything again rather than miss anything


def _is_new(ref: ObjectRef, since: str, at_since: dict[str, str]) -> bool:
    if ref.stamp != since:
        return ref.stamp > since
    # Same second as the cursor: new unless this very key and ETag were already read.
    return at_since.get(_key(ref)) != ref.etag


def _key(ref: ObjectRef) -> str:
    return f"{ref.key}\0{ref.version_id}" if ref.version_id else ref.key


def _cursor(listing: list[ObjectRef]) -> str:
    newest = max(o.stamp for o in listing)
    return json.dumps({"last_modified": newest, "etags": {_key(o): o.etag for o in listing if o.stamp == newest}},
                      sort_keys=True)
