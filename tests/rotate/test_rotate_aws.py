"""AWS IAM access key rotation through Secrets Manager, with boto3 against moto in server mode (real HTTP on
127.0.0.1, the same code path as real AWS): create, store, STS check, deactivate, delete after the grace."""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.live_servers import free_port, moto_binary, process
from tests.rotate_fixtures import (
    FORWARD,
    Crash,
    assert_secret_nowhere,
    cli,
    crash_at,
    imported,
    start_crashing,
    token_status,
    transitions,
    use_inventory,
)
from tokenward.engine import Matcher
from tokenward.rotate.machine import Runner, unfinished
from tokenward.rotate.registry import Connections, rotator
from tokenward.rotate.service import subject
from tokenward.store import Inventory
from tokenward.store.rotation import rotations

pytestmark = pytest.mark.skipif(moto_binary() is None, reason="moto_server not installed (pip install 'moto[server]')")
OPERATOR = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = free_port()
    with process([str(moto_binary()), "-H", "127.0.0.1", "-p", str(port)], port, "moto_server"):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def aws(moto_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, matcher: Matcher,
        request: pytest.FixtureRequest) -> dict[str, Any]:
    """An IAM user with one key, the key in a Secrets Manager secret, declared in tokens.yaml and imported."""
    use_inventory(monkeypatch, matcher)
    for name, value in {**OPERATOR, "AWS_ENDPOINT_URL": moto_url}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    iam, sm = boto3.client("iam"), boto3.client("secretsmanager")
    user = secret_id = f"app-{zlib.crc32(request.node.name.encode())}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    sm.create_secret(Name=secret_id, SecretString=json.dumps(
        {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"], "region": "eu-west-1"}))
    manifest = tmp_path / "tokens.yaml"
    manifest.write_text(f"version: 1\ntokens:\n  - name: {user}\n    provider: aws\n    storage: aws-sm:{secret_id}\n"
                        f"    match: {{aws_key_id: {key['AccessKeyId']}}}\n")
    db = str(tmp_path / "inv" / "inventory.db")
    imported("manifest", str(manifest), "--db", db)
    return {"iam": iam, "sm": sm, "user": user, "secret": secret_id, "old": key["AccessKeyId"], "db": db}


def keys(aws: dict[str, Any]) -> dict[str, str]:
    """The user's access keys: id → Active/Inactive."""
    listed = aws["iam"].list_access_keys(UserName=aws["user"])["AccessKeyMetadata"]
    return {k["AccessKeyId"]: k["Status"] for k in listed}


def stored(aws: dict[str, Any], stage: str = "AWSCURRENT") -> dict[str, str]:
    return dict(json.loads(aws["sm"].get_secret_value(SecretId=aws["secret"], VersionStage=stage)["SecretString"]))


def test_aws_rotation_end_to_end(aws: dict[str, Any]) -> None:
    db = aws["db"]
    result = cli("rotate", aws["old"], "--overlap", "0", "--grace", "7d", "--yes", "--db", db)
    assert result.exit_code == 0, result.output
    assert "aws-iam" in result.output and "old-revoked" in result.output and "grace period" in result.output
    new = stored(aws)
    assert new["AccessKeyId"] != aws["old"] and new["region"] == "eu-west-1"
    assert keys(aws) == {aws["old"]: "Inactive", new["AccessKeyId"]: "Active"}
    assert transitions(db) == FORWARD
    with Inventory.open(db) as inv:
        [row] = rotations(inv)
        assert row.old_ref == aws["old"] and row.new_ref == new["AccessKeyId"] and row.purged_at is None
        assert token_status(db, row.token_id) == "rotated"
        later = Runner(inv, rotator("aws-iam", Connections()), subject(inv, aws["user"], datetime.now(UTC)).target,
                       "t", clock=lambda: datetime.now(UTC) + timedelta(days=8))
        assert later.run(row).purged_at is not None
    assert keys(aws) == {new["AccessKeyId"]: "Active"} and transitions(db) == [*FORWARD, "purged"]
    assert_secret_nowhere(new["SecretAccessKey"], Path(db).parent, result.output)


def test_aws_dry_run_changes_nothing(aws: dict[str, Any]) -> None:
    result = cli("rotate", aws["user"], "--dry-run", "--db", aws["db"])
    assert result.exit_code == 0, result.output
    assert "dry run: nothing changed" in result.output and "STS GetCallerIdentity" in result.output
    assert keys(aws) == {aws["old"]: "Active"} and stored(aws)["AccessKeyId"] == aws["old"]
    assert transitions(aws["db"]) == []


@pytest.mark.parametrize("state", ["new-issued", "consumers-switched", "old-revoked", "purged"])
def test_aws_crash_then_resume_completes_once(aws: dict[str, Any], state: str) -> None:
    with pytest.raises(Crash):
        start_crashing(aws["db"], aws["user"], crash_at(state))
    result = cli("rotate", aws["user"], "--overlap", "0", "--grace", "0", "--yes", "--db", aws["db"])
    assert result.exit_code == 0, result.output
    new = stored(aws)["AccessKeyId"]
    assert keys(aws) == {new: "Active"} and new != aws["old"]  # one new key: none left over from the crash
    assert transitions(aws["db"]) == [*FORWARD, "purged"]
    assert len(aws["sm"].list_secret_version_ids(SecretId=aws["secret"])["Versions"]) == 2


def test_aws_rollback_when_the_new_key_fails_sts(aws: dict[str, Any]) -> None:
    def delete_new_key(state: str) -> None:  # the new key stops working before it is checked
        if state == "new-issued":
            for key_id in keys(aws):
                if key_id != aws["old"]:
                    aws["iam"].delete_access_key(UserName=aws["user"], AccessKeyId=key_id)

    start_crashing(aws["db"], aws["user"], delete_new_key)
    with Inventory.open(aws["db"]) as inv:
        [row] = rotations(inv)
        assert unfinished(inv, row.token_id, keeps_old=True) is None
    assert row.state == "rolled-back" and "STS answered as" in str(row.reason)
    assert stored(aws)["AccessKeyId"] == aws["old"] and keys(aws) == {aws["old"]: "Active"}
    assert transitions(aws["db"]) == ["planned", "new-issued", "rolled-back"]
    assert token_status(aws["db"], row.token_id) == "open"


def test_aws_unreachable_is_exit_3_and_keeps_state(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = cli("rotate", aws["user"], "--overlap", "0", "--yes", "--db", aws["db"])
    assert result.exit_code == 3 and "resume" in result.output, result.output
    assert transitions(aws["db"]) == [] and os.environ["AWS_SECRET_ACCESS_KEY"] not in result.output
