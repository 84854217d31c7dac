"""AWS IAM access key rotation through Secrets Manager: a new key for the same IAM user, written as the secret's
new AWSCURRENT version (JSON AccessKeyId/SecretAccessKey, other fields kept), checked with STS
GetCallerIdentity, the old key set Inactive after the overlap and deleted after the grace period.

boto3 with the operator's own credentials and endpoint as botocore finds them (AWS_PROFILE, AWS_ENDPOINT_URL…);
the new secret access key goes from IAM's answer straight into Secrets Manager and is never printed or stored.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from tokenward.rotate.interface import ISSUED, REVOKED, SWITCHED, RotationError, RotationStep, Target
from tokenward.store.rotation import RotationRow

STS_ATTEMPTS = 5  # a new IAM key takes a few seconds to work everywhere (eventual consistency)
STS_PAUSE = 2.0


def _client_error() -> type[Exception]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)  # type: ignore[return-value]


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__)


class AwsIamRotator:
    """IAM access key + Secrets Manager secret."""

    backend = "aws-iam"
    keeps_old = True

    def __init__(self, session: Any = None, sts_attempts: int = STS_ATTEMPTS) -> None:
        import boto3

        self.session = session or boto3.session.Session()
        self.region = self.session.region_name or "us-east-1"
        self.iam = self.session.client("iam", region_name=self.region)
        self.sm = self.session.client("secretsmanager", region_name=self.region)
        self.sts_attempts = sts_attempts

    def _call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        """One AWS call; RotationError with the error code (never a request or a secret)."""
        try:
            return fn(**kwargs)
        except _client_error() as exc:
            raise RotationError(f"AWS {what} failed: {_code(exc)}") from None

    def _secret(self, secret_id: str, stage: str = "AWSCURRENT") -> tuple[dict[str, Any], str]:
        """(the secret's JSON, its version id) — held in memory by the caller only."""
        got = self._call("GetSecretValue", self.sm.get_secret_value, SecretId=secret_id, VersionStage=stage)
        try:
            data = json.loads(got.get("SecretString") or "{}")
        except ValueError:
            data = None
        if not isinstance(data, dict) or not data.get("AccessKeyId"):
            raise RotationError(f"secret {secret_id} is not JSON with AccessKeyId and SecretAccessKey")
        return data, str(got["VersionId"])

    def _user(self, key_id: str) -> str:
        got = self._call("GetAccessKeyLastUsed", self.iam.get_access_key_last_used, AccessKeyId=key_id)
        return str(got["UserName"])

    def steps(self, target: Target) -> tuple[RotationStep, ...]:
        """What each transition does."""
        sid = target.location
        return (RotationStep(ISSUED, f"create a new access key for the key's IAM user and write it to {sid} "
                                     "(never shown)"),
                RotationStep(SWITCHED, f"check the new key with STS GetCallerIdentity; {sid} AWSCURRENT is the new "
                                       "key"),
                RotationStep(REVOKED, "after the overlap, set the old key Inactive (deleted after the grace period)"))

    def current(self, target: Target) -> str:
        """The access key id in the secret (a public id)."""
        return str(self._secret(target.location)[0]["AccessKeyId"])

    def issue(self, target: Target, row: RotationRow) -> str:
        """A new key, straight into a new secret version whose id derives from the rotation (so once only)."""
        old = str(row.old_ref)
        user = self._user(old)
        version = str(uuid.UUID(row.rotation_id))
        adopted = self._adopt(target, row, user, version)
        if adopted:
            return adopted
        key = self._call("CreateAccessKey", self.iam.create_access_key, UserName=user)["AccessKey"]
        data, _ = self._secret(target.location)
        data.update(AccessKeyId=key["AccessKeyId"], SecretAccessKey=key["SecretAccessKey"])
        self._call("PutSecretValue", self.sm.put_secret_value, SecretId=target.location,
                   SecretString=json.dumps(data), ClientRequestToken=version)
        return str(key["AccessKeyId"])

    def _adopt(self, target: Target, row: RotationRow, user: str, version: str) -> str | None:
        """On resume: the key an earlier run already stored (its id), or delete a key it made but never stored."""
        data, current = self._secret(target.location)
        if current == version:
            return str(data["AccessKeyId"])
        keys = self._call("ListAccessKeys", self.iam.list_access_keys, UserName=user)["AccessKeyMetadata"]
        for other in keys:
            if other["AccessKeyId"] == row.old_ref:
                continue
            if other["CreateDate"] < row.started_at:
                raise RotationError(f"IAM user {user} already has a second access key {other['AccessKeyId']}")
            self._call("DeleteAccessKey", self.iam.delete_access_key, UserName=user, AccessKeyId=other["AccessKeyId"])
        return None

    def verify(self, target: Target, row: RotationRow) -> str | None:
        """STS GetCallerIdentity signed with the new key answers as the same IAM user."""
        data, _ = self._secret(target.location)
        if data["AccessKeyId"] != row.new_ref:
            return f"{target.location} does not hold the new key"
        user = self._user(str(row.old_ref))
        sts = self.session.client("sts", region_name=self.region, aws_access_key_id=data["AccessKeyId"],
                                  aws_secret_access_key=data["SecretAccessKey"], aws_session_token=None)
        reason = "STS did not answer"
        for attempt in range(self.sts_attempts):
            if attempt:
                time.sleep(STS_PAUSE)
            try:
                arn = str(sts.get_caller_identity()["Arn"])
            except _client_error() as exc:
                reason = f"STS rejected the new key ({_code(exc)})"
                continue
            same = ":user/" in arn and arn.endswith(f"/{user}")
            return None if same else f"STS answered as {arn}, not IAM user {user}"
        return reason

    def switch(self, target: Target, row: RotationRow) -> None:
        """AWSCURRENT must still hold the new key."""
        if self._secret(target.location)[0]["AccessKeyId"] != row.new_ref:
            raise RotationError(f"{target.location} was written again during the rotation")

    def revoke_old(self, target: Target, row: RotationRow) -> None:
        """Set the old key Inactive (kept for the grace period, so it can be re-enabled)."""
        user = self._user(str(row.old_ref))
        self._call("UpdateAccessKey", self.iam.update_access_key, UserName=user, AccessKeyId=str(row.old_ref),
                   Status="Inactive")

    def purge_old(self, target: Target, row: RotationRow) -> None:
        """Delete the old key (already gone counts as done)."""
        try:
            user = self.iam.get_access_key_last_used(AccessKeyId=str(row.old_ref))["UserName"]
            self.iam.delete_access_key(UserName=user, AccessKeyId=str(row.old_ref))
        except _client_error() as exc:
            if _code(exc) not in ("NoSuchEntity", "NoSuchEntityException"):
                raise RotationError(f"AWS DeleteAccessKey failed: {_code(exc)}") from None

    def rollback(self, target: Target, row: RotationRow) -> None:
        """Delete the new key and make the previous secret version AWSCURRENT again."""
        user = self._user(str(row.old_ref))
        if row.new_ref:
            try:
                self.iam.delete_access_key(UserName=user, AccessKeyId=row.new_ref)
            except _client_error() as exc:
                if _code(exc) not in ("NoSuchEntity", "NoSuchEntityException"):
                    raise RotationError(f"AWS DeleteAccessKey failed: {_code(exc)}") from None
        self._restore_previous(target, str(uuid.UUID(row.rotation_id)))

    def _restore_previous(self, target: Target, version: str) -> None:
        _, current = self._secret(target.location)
        if current != version:
            return
        _, previous = self._secret(target.location, "AWSPREVIOUS")
        self._call("UpdateSecretVersionStage", self.sm.update_secret_version_stage, SecretId=target.location,
                   VersionStage="AWSCURRENT", MoveToVersionId=previous, RemoveFromVersionId=current)
