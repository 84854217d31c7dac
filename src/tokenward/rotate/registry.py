"""The explicit registry of rotation backends: name → factory taking the connections to use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tokenward.rotate.aws_iam import STS_ATTEMPTS, AwsIamRotator
from tokenward.rotate.interface import Rotator, UnsupportedRotation
from tokenward.rotate.openbao_db import OpenBaoDbRotator
from tokenward.rotate.openbao_kv import BaoApi, OpenBaoKvRotator


@dataclass(frozen=True)
class Connections:
    """How to reach the secrets managers: OpenBao address (else $BAO_ADDR/$VAULT_ADDR; token from $BAO_TOKEN or
    $VAULT_TOKEN), an httpx transport to route OpenBao calls through, and a boto3 session for AWS."""

    bao_addr: str | None = None
    transport: httpx.BaseTransport | None = None
    aws_session: Any = None
    sts_attempts: int = STS_ATTEMPTS


def _kv(c: Connections) -> Rotator:
    return OpenBaoKvRotator(BaoApi(c.bao_addr, c.transport))


def _db(c: Connections) -> Rotator:
    return OpenBaoDbRotator(BaoApi(c.bao_addr, c.transport))


def _aws(c: Connections) -> Rotator:
    return AwsIamRotator(c.aws_session, c.sts_attempts)


ROTATORS: dict[str, Callable[[Connections], Rotator]] = {
    "openbao-kv": _kv,
    "openbao-db": _db,
    "aws-iam": _aws,
}


def rotator(backend: str, connections: Connections) -> Rotator:
    """The backend's rotator, connected."""
    factory = ROTATORS.get(backend)
    if factory is None:
        raise UnsupportedRotation(f"no rotation backend {backend!r} (known: {', '.join(sorted(ROTATORS))})")
    return factory(connections)
