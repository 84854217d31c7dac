"""Make canary credentials: GitHub and Slack tokens that pass format and checksum checks, a canary URL, and
for AWS a real IAM access key of a user with no permissions (so a thief's first call shows up in CloudTrail).

Values come from `secrets` (never a seeded generator) and are returned to the caller to plant; tokenward
stores only their fingerprints and public ids.
"""

from __future__ import annotations

import secrets
import string
import zlib
from dataclasses import dataclass
from typing import Any

from tokenward.checks.checksum import base62
from tokenward.errors import TokenwardError

ALNUM = string.ascii_letters + string.digits
KINDS = ("aws", "github", "slack", "url")
HONEY_USER_PREFIX = "tokenward-honey-"


class HoneytokenError(TokenwardError):
    """A honeytoken could not be made (the AWS account refused, a bad option)."""


@dataclass(frozen=True)
class Canary:
    """A made honeytoken: what to plant (secret), how the inventory knows it, and the line that plants it."""

    kind: str
    provider: str
    token_kind: str
    secret: str  # the fingerprinted value (AWS: the secret access key)
    public_ids: tuple[tuple[str, str], ...]
    lines: tuple[str, ...]  # what is appended to the file


def _random(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def github_token() -> str:
    """ghp_ + 30 base62 characters + the 6-character base62 CRC32 of those characters (GitHub's checksum)."""
    body = _random(ALNUM, 30)
    return "ghp_" + body + base62(zlib.crc32(body.encode())).decode()


def slack_token() -> str:
    """xoxb-TEAM-BOT-SECRET in Slack's bot token layout (Slack tokens carry no checksum)."""
    return f"xoxb-{_random(string.digits, 12)}-{_random(string.digits, 13)}-{_random(ALNUM, 24)}"


def canary(kind: str, url_base: str = "https://canary.invalid/t/", aws: Any = None) -> Canary:
    """A fresh honeytoken of kind (aws needs aws: an IAM client)."""
    from tokenward.identity import github_hashed_token

    if kind == "github":
        tok = github_token()
        return Canary(kind, "github", "pat-classic", tok, (("github_hashed_token", github_hashed_token(tok.encode())),),
                      (f"GITHUB_TOKEN={tok}",))
    if kind == "slack":
        tok = slack_token()
        return Canary(kind, "slack", "bot-token", tok, (), (f"SLACK_BOT_TOKEN={tok}",))
    if kind == "url":
        url = url_base.rstrip("/") + "/" + secrets.token_urlsafe(24)
        return Canary(kind, "canary", "url", url, (), (f"WEBHOOK_URL={url}",))
    if kind == "aws":
        return aws_canary(aws)
    raise HoneytokenError(f"unknown honeytoken kind {kind!r} (choose from {', '.join(KINDS)})")


def aws_canary(iam: Any) -> Canary:
    """A new IAM user with no policies and one access key (real on AWS, or on moto with AWS_ENDPOINT_URL)."""
    from botocore.exceptions import BotoCoreError, ClientError

    user = HONEY_USER_PREFIX + secrets.token_hex(6)
    try:
        iam.create_user(UserName=user, Tags=[{"Key": "tokenward", "Value": "honeytoken"}])
        key = iam.create_access_key(UserName=user)["AccessKey"]
    except (ClientError, BotoCoreError) as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
        raise HoneytokenError(f"AWS refused to make the honeytoken user: {code}") from None
    kid, secret = str(key["AccessKeyId"]), str(key["SecretAccessKey"])
    return Canary("aws", "aws", "secret-access-key", secret, (("id", kid), ("iam_user", user)),
                  ("[default]", f"aws_access_key_id = {kid}", f"aws_secret_access_key = {secret}"))
