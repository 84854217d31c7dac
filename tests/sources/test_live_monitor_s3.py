"""`monitor s3://BUCKET/AWSLogs/…`: CloudTrail read where it is delivered (moto server), past a cursor."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests import usage_samples as s
from tests.live_servers import moto_binary
from tests.sources.test_live_s3 import _moto
from tests.usage.test_usage_cli import stolen_key_trail
from tokenward.cli.main import app

boto3 = pytest.importorskip("boto3")
pytestmark = pytest.mark.skipif(moto_binary() is None, reason="moto_server not installed (pip install 'moto[server]')")
PREFIX = "AWSLogs/123456789012/CloudTrail/eu-west-1/2025/03"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    yield from _moto({})


@pytest.fixture
def trail(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("TOKENWARD_S3_BASE_URL", moto_url)
    client = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    client.create_bucket(Bucket="org-trail")
    yield client
    for obj in client.list_objects_v2(Bucket="org-trail").get("Contents", []):
        client.delete_object(Bucket="org-trail", Key=obj["Key"])
    client.delete_bucket(Bucket="org-trail")


def test_cloudtrail_from_s3_then_only_new_objects(trail: Any, tmp_path: Path) -> None:
    local, key = stolen_key_trail(tmp_path)
    trail.put_object(Bucket="org-trail", Key=f"{PREFIX}/01/x.json.gz", Body=local.read_bytes())
    db = str(tmp_path / "inv.db")
    runner = CliRunner()
    first = runner.invoke(app, ["monitor", "s3://org-trail/AWSLogs", "--db", db, "--alerts", "jsonl"])
    assert first.exit_code == 1, first.output  # the stolen key's use raised alerts
    assert f"s3://org-trail/{PREFIX}/01/x.json.gz: cloudtrail, 506 events" in first.output
    again = runner.invoke(app, ["monitor", "s3://org-trail/AWSLogs", "--db", db])
    assert again.exit_code == 0 and "x.json.gz" not in again.output and "0 events" in again.output
    late = s.cloudtrail_record(key, s.T0 + timedelta(days=30), event_id="late-1")
    trail.put_object(Bucket="org-trail", Key=f"{PREFIX}/31/y.json.gz",
                     Body=s.cloudtrail_file(tmp_path / "y.json.gz", [late]).read_bytes())
    third = runner.invoke(app, ["monitor", "s3://org-trail/AWSLogs", "--db", db])
    assert f"{PREFIX}/31/y.json.gz: cloudtrail, 1 events" in third.output and "x.json.gz" not in third.output
    scanned = runner.invoke(app, ["scan", "s3://org-trail/AWSLogs", "--db", db, "-q", "--format", "json",
                                  "--output", str(tmp_path / "r.json")])
    assert scanned.exit_code in (0, 1), scanned.output  # scan keeps its own cursor: it still reads both objects
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["blobs_scanned"] == 2


def test_missing_bucket_is_unreadable_and_follow_refused(trail: Any, tmp_path: Path) -> None:
    db = str(tmp_path / "inv.db")
    runner = CliRunner()
    result = runner.invoke(app, ["monitor", "s3://no-such-trail/AWSLogs", "--db", db])
    assert result.exit_code == 3 and "NoSuchBucket" in result.output
    follow = runner.invoke(app, ["monitor", "s3://org-trail/AWSLogs", "--db", db, "--follow"])
    assert follow.exit_code == 2 and "--follow reads local files" in follow.output
