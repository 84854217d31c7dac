"""Usage logs that live in an object store: `tokenward monitor s3://BUCKET/AWSLogs/…`.

CloudTrail delivers gzip JSON files under s3://BUCKET/AWSLogs/ACCOUNT/CloudTrail/REGION/Y/M/D/. The
objects newer than the monitor's cursor are downloaded into a private temporary directory, read by
the monitor like local files (shown in evidence by their s3:// URL), and removed; the cursor — the
s3:// source's own (newest LastModified + ETags), kept in the inventory under its own stream so
`scan` and `monitor` of one prefix do not advance each other — is saved only after the run.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tokenward.sources.interface import Blob, SkippedItem
from tokenward.sources.live.interface import LiveOptions, parse_target
from tokenward.sources.live.s3 import S3Source

STREAM_SUFFIX = "#monitor"
REMOTE_SCHEMES = ("s3://",)


class MonitorS3Source(S3Source):
    """The s3:// source with its cursor kept apart from scan's (a monitor stream per prefix)."""

    def cursor(self, stream: str) -> str | None:
        """The monitor's cursor of this prefix."""
        return super().cursor(stream + STREAM_SUFFIX)

    def advance(self, stream: str, value: str | None) -> None:
        """Remember the monitor's new cursor of this prefix."""
        super().advance(stream + STREAM_SUFFIX, value)


@dataclass
class RemoteLogs:
    """Local paths for the monitor, what could not be fetched, and the cursors to save after the run."""

    paths: list[str]
    skipped: list[SkippedItem] = field(default_factory=list)
    sources: list[S3Source] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)  # local copy → s3:// URL

    def commit(self, db: str | None) -> int:
        """Save the advanced cursors in the inventory (call once the run is recorded)."""
        from tokenward.sources.live import save_cursors

        return save_cursors(db, self.sources)


def is_remote(path: str) -> bool:
    """True for a log argument that names an object-store prefix."""
    return path.startswith(REMOTE_SCHEMES)


@contextmanager
def fetched_logs(paths: Sequence[str], db: str | None, full: bool = False) -> Iterator[RemoteLogs]:
    """paths with every s3:// prefix replaced by local copies of its new objects (deleted afterwards)."""
    if not any(is_remote(p) for p in paths):
        yield RemoteLogs(list(paths))
        return
    from tokenward.sources.live import live_options

    options = live_options(full=full, auth_file=None, db=db, use_db=True, max_size=1 << 30)
    tmp = Path(tempfile.mkdtemp(prefix="tokenward-logs-"))
    try:
        out = RemoteLogs([])
        for path in paths:
            if is_remote(path):
                _fetch(path, options, tmp / str(len(out.sources)), out)
            else:
                out.paths.append(path)
        yield out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fetch(url: str, options: LiveOptions, dest: Path, out: RemoteLogs) -> None:
    """Download the new objects of one prefix under dest, in LastModified order."""
    source = MonitorS3Source(parse_target(url), options)
    out.sources.append(source)
    for number, item in enumerate(source):
        if isinstance(item, SkippedItem):
            out.skipped.append(item)
            continue
        assert isinstance(item, Blob)
        local = dest / f"{number:08d}-{Path(item.origin.path).name}"
        local.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        local.write_bytes(item.data)
        out.paths.append(str(local))
        out.aliases[str(local.absolute())] = f"s3://{source.bucket}/{item.origin.path}"
