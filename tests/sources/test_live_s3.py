"""s3://: boto3 against moto in server mode (real HTTP, real S3 wire protocol)."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.live_servers import assert_no_plaintext, details, free_port, moto_binary, process, run_scan
from tests.tokens import TokenFactory

pytestmark = pytest.mark.skipif(moto_binary() is None, reason="moto_server not installed (pip install 'moto[server]')")


def _moto(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    old = dict(os.environ)
    os.environ.update(env)  # moto_server reads its auth switch from its environment
    try:
        with process([str(moto_binary()), "-H", "127.0.0.1", "-p", str(port)], port, "moto_server"):
            yield f"http://127.0.0.1:{port}"
    finally:
        os.environ.clear()
        os.environ.update(old)


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    yield from _moto({})


@pytest.fixture
def s3(moto_url: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("TOKENWARD_S3_BASE_URL", moto_url)
    client = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    bucket = "tw-" + request.node.name.replace("_", "-")[:40].lower()
    client.create_bucket(Bucket=bucket)
    client.bucket = bucket
    return client


def _targz(name: str, text: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        data = text.encode()
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_objects_found_through_the_expanders(s3: Any, tmp_path: Path) -> None:
    tokens = [TokenFactory(seed).github_classic() for seed in (31, 32, 33)]
    put = s3.put_object
    put(Bucket=s3.bucket, Key="app/.env", Body=f"GITHUB_TOKEN={tokens[0]}\n".encode())
    put(Bucket=s3.bucket, Key="app/backup/conf.tar.gz", Body=_targz("etc/app.conf", f"token = {tokens[1]}\n"))
    put(Bucket=s3.bucket, Key="app/blob.bin", Body=b"\x00\x01binary" * 10)
    put(Bucket=s3.bucket, Key="app/huge.txt", Body=b"x" * 5000)
    put(Bucket=s3.bucket, Key="other/.env", Body=f"GITHUB_TOKEN={tokens[2]}\n".encode())
    db = tmp_path / "inv.db"
    code, report, output = run_scan([f"s3://{s3.bucket}/app", "--db", str(db), "--max-file-size", "4096"],
                                    tmp_path / "r.json")
    assert code == 1, output
    assert sorted(f["preview"][-4:] for f in report["findings"]) == sorted(t[-4:] for t in tokens[:2])
    by_key = {d["key"]: d for d in details(report)}
    assert by_key["app/.env"]["bucket"] == s3.bucket and by_key["app/.env"]["etag"]
    assert by_key["app/backup/conf.tar.gz"]["url"] == f"s3://{s3.bucket}/app/backup/conf.tar.gz"
    inner = [f["source"]["path"] for f in report["findings"] if "!/" in f["source"]["path"]]
    assert inner == ["app/backup/conf.tar.gz!/etc/app.conf"]
    reasons = {s["location"]: s["reason"] for s in report["skipped"]}
    assert reasons[f"s3://{s3.bucket}/app/huge.txt"].startswith("too large")
    assert reasons[f"s3://{s3.bucket}/app/blob.bin"] == "binary content"
    assert_no_plaintext(tokens, tmp_path / "r.json", db, output)


def test_rerun_reads_only_new_or_changed_objects(s3: Any, tmp_path: Path) -> None:
    tokens = [TokenFactory(seed).github_classic() for seed in (34, 35)]
    s3.put_object(Bucket=s3.bucket, Key="a.env", Body=f"GITHUB_TOKEN={tokens[0]}\n".encode())
    s3.put_object(Bucket=s3.bucket, Key="b.txt", Body=b"nothing here")
    db = ["--db", str(tmp_path / "inv.db")]
    assert run_scan([f"s3://{s3.bucket}", *db], tmp_path / "1.json")[0] == 1
    s3.put_object(Bucket=s3.bucket, Key="b.txt", Body=f"now GITHUB_TOKEN={tokens[1]}\n".encode())
    code, report, _ = run_scan([f"s3://{s3.bucket}", *db], tmp_path / "2.json")
    assert code == 1 and report["summary"]["blobs_scanned"] == 1
    assert [d["key"] for d in details(report)] == ["b.txt"]
    code, report, _ = run_scan([f"s3://{s3.bucket}", *db], tmp_path / "3.json")
    assert code == 0 and report["summary"]["blobs_scanned"] == 0
    _, report, _ = run_scan([f"s3://{s3.bucket}", *db, "--full"], tmp_path / "4.json")
    assert report["summary"]["blobs_scanned"] == 2


def test_old_versions_keep_overwritten_secrets(s3: Any, tmp_path: Path) -> None:
    token = TokenFactory(36).github_classic()
    s3.put_bucket_versioning(Bucket=s3.bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=s3.bucket, Key="cfg/.env", Body=f"GITHUB_TOKEN={token}\n".encode())
    s3.put_object(Bucket=s3.bucket, Key="cfg/.env", Body=b"GITHUB_TOKEN=${FROM_VAULT}\n")
    assert run_scan([f"s3://{s3.bucket}/cfg", "--no-db"], tmp_path / "r.json")[0] == 0
    code, report, _ = run_scan([f"s3://{s3.bucket}/cfg?versions=1", "--no-db"], tmp_path / "v.json")
    assert code == 1
    [d] = details(report)
    assert d["version_id"] and d["key"] == "cfg/.env"


def test_missing_bucket_and_rejected_credential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                moto_url: str) -> None:
    monkeypatch.setenv("TOKENWARD_S3_BASE_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    code, report, _ = run_scan(["s3://no-such-bucket-here/x", "--no-db"], tmp_path / "r.json")
    assert code == 3 and "NoSuchBucket" in report["skipped"][0]["reason"]
    for auth_url in _moto({"INITIAL_NO_AUTH_ACTION_COUNT": "0"}):  # moto enforcing IAM: unknown keys
        monkeypatch.setenv("TOKENWARD_S3_BASE_URL", auth_url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA" + "X" * 16)
        code, report, output = run_scan(["s3://any-bucket", "--no-db"], tmp_path / "a.json")
        assert code == 3, output
        [skip] = report["skipped"]
        assert "rejected the credential" in skip["reason"] and "AWS_ACCESS_KEY_ID" in skip["reason"]
