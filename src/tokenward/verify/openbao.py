"""OpenBao / HashiCorp Vault tokens, through plain httpx (our one client: same redirect, timeout and rate
rules as every provider, and no extra dependency — hvac would bring its own session and retries).

The address comes from --addr, else $BAO_ADDR, else $VAULT_ADDR, like their own CLIs.
GET /v1/auth/token/lookup-self answers 200 {"data": {"accessor", "policies", "display_name", "expire_time",
…}} for a live token (its `data.id` is the token itself: never read); 403 {"errors": ["permission denied"]}
(or "invalid token") for an unknown, expired or revoked one. POST /v1/auth/token/revoke-self answers 204.
"""

from __future__ import annotations

import os

from tokenward.verify.api import Api, Request, RevokeApi, Shape, Step
from tokenward.verify.interface import Credential

TOKEN = (("X-Vault-Token", "{token}"),)
RULES = ("vault.service-token", "vault.service-token-legacy")


def _addr(_cred: Credential) -> dict[str, str]:
    """The server address from the environment (an --addr option overrides it as the endpoint)."""
    return {"bao_addr": (os.environ.get("BAO_ADDR") or os.environ.get("VAULT_ADDR") or "").rstrip("/")}


VERIFIERS = (
    Api("vault", (*RULES, "vault.batch-token"), "{bao_addr}", Request("GET", "/v1/auth/token/lookup-self", TOKEN),
        live=Shape((200,), keys=("data.accessor", "data.policies")),
        invalid=(Shape((403,), equals=(("errors", ("permission denied", "invalid token")),)),),
        identity=("data.display_name", "data.accessor"), scopes="data.policies", expires="data.expire_time",
        derive=_addr, docs="https://openbao.org/api-docs/auth/token/#lookup-a-token-self"),
)

REVOKERS = (
    RevokeApi("vault", RULES, "{bao_addr}",
              (Step(Request("POST", "/v1/auth/token/revoke-self", TOKEN), Shape((204,), text="")),),
              derive=_addr, docs="https://openbao.org/api-docs/auth/token/#revoke-a-token-self"),
)
