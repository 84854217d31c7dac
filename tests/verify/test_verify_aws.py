"""AWS verify (STS GetCallerIdentity, SigV4) and revoke (IAM UpdateAccessKey/DeleteAccessKey) against moto
in server mode: a real HTTP endpoint on 127.0.0.1 with IAM authentication on, boto3 to set it up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.openbao import free_port, unavailable
from tokenward.verify.client import Limits, ProviderClient
from tokenward.verify.cloud import AwsKeyRevoker, AwsVerifier
from tokenward.verify.interface import Credential

ADMIN_POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'


@dataclass
class Moto:
    url: str
    admin: tuple[str, str]

    def iam(self) -> Any:
        import boto3

        return boto3.client("iam", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=self.admin[0], aws_secret_access_key=self.admin[1])


def _wait(url: str, process: subprocess.Popen[bytes]) -> bool:
    for _ in range(200):
        if process.poll() is not None:
            return False
        try:
            httpx.get(url + "/moto-api/", timeout=1)
            return True
        except httpx.HTTPError:
            time.sleep(0.1)
    return False


def _bootstrap(url: str) -> tuple[str, str]:
    """The first three actions run unauthenticated (INITIAL_NO_AUTH_ACTION_COUNT): make an admin with a key."""
    import boto3

    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="bootstrap",
                       aws_secret_access_key="bootstrap")
    iam.create_user(UserName="admin")
    iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=ADMIN_POLICY)
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


@pytest.fixture(scope="module")
def moto() -> Iterator[Moto]:
    binary = Path(sys.executable).with_name("moto_server")
    if not binary.exists():
        unavailable("moto_server is missing (pip install 'moto[server]')")
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"}
    process = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        if not _wait(url, process):
            unavailable("moto_server did not come up")
        yield Moto(url, _bootstrap(url))
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def client(moto: Moto) -> Iterator[ProviderClient]:
    with ProviderClient(Limits(min_interval=0), {"aws": moto.url}) as c:
        yield c


def _leaked(moto: Moto, user: str) -> Credential:
    iam = moto.iam()
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return Credential(key["SecretAccessKey"], "aws.secret-access-key", (("id", key["AccessKeyId"]),))


def test_verify_live_invalid_and_mismatched(moto: Moto, client: ProviderClient) -> None:
    cred = _leaked(moto, "ci")
    http = client.bind("aws", moto.url)
    live = AwsVerifier().verify(cred, http)
    assert live.status == "live" and live.identity is not None and live.identity.endswith(":user/ci")
    unknown_key = replace(cred, public_ids=(("id", "AKIA" + "Q" * 16),))
    assert AwsVerifier().verify(unknown_key, http).status == "invalid"
    wrong_secret = replace(cred, secret=cred.secret[::-1])
    mismatch = AwsVerifier().verify(wrong_secret, http)
    assert mismatch.status == "unknown" and "does not match" in mismatch.reason
    assert cred.secret not in repr(live) + repr(mismatch)


def test_revoke_deactivates_then_deletes(moto: Moto, client: ProviderClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto.admin[0])  # the operator's credentials sign the IAM calls
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto.admin[1])
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    cred = _leaked(moto, "deployer")
    key_id = cred.public("id")
    http = client.bind("aws", moto.url)
    done = AwsKeyRevoker().revoke(cred, http)
    assert done.done, done
    keys = moto.iam().list_access_keys(UserName="deployer")["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in keys] == [(key_id, "Inactive")]
    # (moto still authenticates an Inactive key, so the check that it is dead comes after the delete)
    deleted = AwsKeyRevoker(delete=True).revoke(cred, http)
    assert deleted.done and not moto.iam().list_access_keys(UserName="deployer")["AccessKeyMetadata"]
    assert AwsVerifier().verify(cred, http).status == "invalid"


def test_revoke_with_a_key_that_may_not_manage_itself(moto: Moto, client: ProviderClient,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    cred = _leaked(moto, "nopolicy")  # no policy: IAM refuses its own deactivation
    result = AwsKeyRevoker().revoke(cred, client.bind("aws", moto.url))
    assert not result.done and "IAM refused" in result.reason
