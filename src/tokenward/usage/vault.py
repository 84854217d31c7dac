"""Join OpenBao/Vault audit entries to tokens: the server's sys/audit-hash computes the device's HMAC."""

from __future__ import annotations

import httpx

from tokenward.errors import UsageError
from tokenward.usage.events import VAULT_ACCESSOR, VAULT_HMAC
from tokenward.usage.identity import Joiner


class AuditHasher:
    """Computes audit-device HMACs through POST /v1/sys/audit-hash/<device path>."""

    def __init__(self, addr: str, token: str, device: str = "file", client: httpx.Client | None = None) -> None:
        self.url = f"{addr.rstrip('/')}/v1/sys/audit-hash/{device.strip('/')}"
        self.token = token
        self.client = client or httpx.Client(timeout=10.0)

    def hash(self, value: str) -> str:
        """The 'hmac-sha256:…' the audit device writes for value."""
        try:
            r = self.client.post(self.url, json={"input": value}, headers={"X-Vault-Token": self.token})
        except httpx.HTTPError as exc:
            raise UsageError(f"audit-hash request failed: {type(exc).__name__}") from None
        if r.status_code != 200:
            raise UsageError(f"audit-hash answered HTTP {r.status_code} (needs a token allowed sys/audit-hash)")
        body = r.json()
        found = body.get("hash") or (body.get("data") or {}).get("hash")
        if not isinstance(found, str):
            raise UsageError("audit-hash answered without a hash")
        return found


def alias_accessors(joiner: Joiner, hasher: AuditHasher) -> int:
    """Teach joiner the audit HMAC of every known Vault accessor; returns how many."""
    accessors = [(v, t) for (k, v), t in list(joiner.by_ident.items()) if k == VAULT_ACCESSOR]
    for accessor, token_id in accessors:
        joiner.alias(VAULT_HMAC, hasher.hash(accessor), token_id)
    return len(accessors)
