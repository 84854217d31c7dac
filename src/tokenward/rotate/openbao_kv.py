"""OpenBao/Vault KV v2 rotation: a new version generated here and written straight into the secret, consumers read
the latest version, and the old version is destroyed after the overlap.

Plain httpx rather than hvac: one HTTP client library for every boundary tokenward crosses (the importers,
verify and revoke use it too), and an injectable transport lets tests and callers route or observe requests
without patching a third-party client. Request headers (the X-Vault-Token) are never logged or shown.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import httpx

from tokenward.importers.interface import parse_time
from tokenward.importers.openbao import client_token, server_addr
from tokenward.rotate.interface import ISSUED, REVOKED, SWITCHED, RotationError, RotationStep, Target
from tokenward.store.rotation import RotationRow

NEW_SECRET_BYTES = 32  # token_urlsafe(32): 256 bits, 43 URL-safe characters


class CasMismatch(RotationError):
    """The secret's current version is not the one a check-and-set write expected."""


@dataclass
class BaoApi:
    """The few OpenBao/Vault HTTP calls rotation needs (address and token as the bao CLI finds them)."""

    addr: str | None = None
    transport: httpx.BaseTransport | None = None
    timeout: float = 10.0

    @cached_property
    def http(self) -> httpx.Client:
        """The client, made on first use (so describing steps needs no server)."""
        self.addr = server_addr(self.addr)
        return httpx.Client(base_url=self.addr, timeout=self.timeout, transport=self.transport,
                            headers={"X-Vault-Token": client_token()}, follow_redirects=False)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One API call; {} for an empty answer; RotationError naming the call and status (never a value)."""
        try:
            response = self.http.request(method, f"/v1/{path}", json=body)
        except httpx.HTTPError as exc:
            raise RotationError(f"{self.addr}: cannot reach OpenBao ({type(exc).__name__})") from None
        data = _json(response)
        if response.status_code >= 400:
            errors = "; ".join(str(e) for e in data.get("errors") or [])[:200]
            kind = CasMismatch if "check-and-set" in errors else RotationError
            raise kind(f"{self.addr}: {method} /v1/{path} → HTTP {response.status_code} {errors}".rstrip())
        return data


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json() if response.content else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class KvLocation:
    """mount/path#field of a KV v2 secret."""

    mount: str
    path: str
    field: str

    @classmethod
    def parse(cls, text: str) -> KvLocation:
        """From mount/path#field (RotationError when malformed)."""
        where, _, name = text.partition("#")
        mount, _, path = where.partition("/")
        if not (mount and path and name):
            raise RotationError(f"{text!r} is not a KV location (mount/path#field)")
        return cls(mount, path, name)


class Kv:
    """KV v2 reads and writes of one secret."""

    def __init__(self, api: BaoApi, loc: KvLocation) -> None:
        self.api, self.loc = api, loc

    def metadata(self) -> dict[str, Any]:
        """The secret's metadata (current_version, versions)."""
        meta = self.api.call("GET", f"{self.loc.mount}/metadata/{self.loc.path}").get("data") or {}
        if not meta.get("current_version"):
            raise RotationError(f"no KV v2 secret at {self.loc.mount}/{self.loc.path}")
        return dict(meta)

    def current_version(self) -> int:
        """The version consumers reading the latest get."""
        return int(self.metadata()["current_version"])

    def read(self, version: int | None = None) -> dict[str, Any]:
        """The data of a version (the latest by default); held in memory by the caller only."""
        query = f"?version={version}" if version else ""
        body = self.api.call("GET", f"{self.loc.mount}/data/{self.loc.path}{query}")
        return dict((body.get("data") or {}).get("data") or {})

    def write(self, data: dict[str, Any], cas: int) -> int:
        """Write a new version if the current one is still cas; the new version number."""
        body = self.api.call("POST", f"{self.loc.mount}/data/{self.loc.path}", {"options": {"cas": cas}, "data": data})
        return int((body.get("data") or {}).get("version") or 0)

    def destroy(self, *versions: int) -> None:
        """Destroy versions for good (their data is gone; the version numbers remain)."""
        self.api.call("POST", f"{self.loc.mount}/destroy/{self.loc.path}", {"versions": list(versions)})

    def write_once(self, data: dict[str, Any], row: RotationRow) -> int:
        """Write the rotation's new version exactly once: check-and-set against the old version, and on a resume
        whose earlier write landed (the next version, made after the rotation started) adopt that one."""
        old = int(parse_ref(row.old_ref)["version"])
        try:
            return self.write(data, old)
        except CasMismatch:
            meta = self.metadata()
            current = int(meta["current_version"])
            made = parse_time(((meta.get("versions") or {}).get(str(current)) or {}).get("created_time"))
            if current == old + 1 and made is not None and made >= row.started_at:
                return current
            raise RotationError(f"{self.loc.mount}/{self.loc.path} changed since the rotation started "
                                f"(version {current}, expected {old}); nothing written") from None

    def restore(self, old: int, new: int) -> None:
        """Rollback: the old version's data becomes the latest again, and the failed new version is destroyed."""
        if self.current_version() == new:
            self.write(self.read(old), new)
        self.destroy(new)


def parse_ref(ref: str | None) -> dict[str, str]:
    """A reference stored as key=value pairs (version=3 lease=…): nothing secret in it."""
    return dict(part.split("=", 1) for part in (ref or "").split() if "=" in part)


def ref(**values: object) -> str:
    """The reference text for values (see _ref)."""
    return " ".join(f"{k}={v}" for k, v in values.items() if v not in (None, ""))


def version_of(text: str | None) -> int:
    """The KV version in a stored reference."""
    return int(parse_ref(text).get("version") or 0)


class OpenBaoKvRotator:
    """KV v2: generate, write as a new version, check consumers get it, destroy the old version."""

    backend = "openbao-kv"
    keeps_old = False

    def __init__(self, api: BaoApi) -> None:
        self.api = api

    def _kv(self, target: Target) -> Kv:
        return Kv(self.api, KvLocation.parse(target.location))

    def steps(self, target: Target) -> tuple[RotationStep, ...]:
        """What each transition does."""
        loc = target.location
        return (RotationStep(ISSUED, f"write a new version of {loc} (generated in memory, never shown)"),
                RotationStep(SWITCHED, f"check {loc} reads back as the new version (consumers read the latest)"),
                RotationStep(REVOKED, f"after the overlap, destroy the old version of {loc}"))

    def current(self, target: Target) -> str:
        """version=N of the latest version (which must hold the field)."""
        kv = self._kv(target)
        version = kv.current_version()
        if kv.loc.field not in kv.read(version):
            raise RotationError(f"{target.location}: version {version} has no field {kv.loc.field!r}")
        return ref(version=version)

    def issue(self, target: Target, row: RotationRow) -> str:
        """A new version with a fresh value in the field (the other fields kept)."""
        kv = self._kv(target)
        data = kv.read(version_of(row.old_ref))
        data[kv.loc.field] = secrets.token_urlsafe(NEW_SECRET_BYTES)
        return ref(version=kv.write_once(data, row))

    def verify(self, target: Target, row: RotationRow) -> str | None:
        """The latest version is the new one and its value is a fresh one."""
        kv = self._kv(target)
        new, old = version_of(row.new_ref), version_of(row.old_ref)
        if kv.current_version() != new:
            return f"{target.location}: the latest version is not the new version {new}"
        fresh = kv.read(new).get(kv.loc.field)
        if not isinstance(fresh, str) or len(fresh) < 16 or fresh == kv.read(old).get(kv.loc.field):
            return f"{target.location}: version {new} does not hold a fresh value"
        return None

    def switch(self, target: Target, row: RotationRow) -> None:
        """Consumers read the latest version: it must still be ours."""
        if self._kv(target).current_version() != version_of(row.new_ref):
            raise RotationError(f"{target.location} was written again during the rotation")

    def revoke_old(self, target: Target, row: RotationRow) -> None:
        """Destroy the old version (idempotent)."""
        self._kv(target).destroy(version_of(row.old_ref))

    def purge_old(self, target: Target, row: RotationRow) -> None:
        """Nothing is kept after revocation."""

    def rollback(self, target: Target, row: RotationRow) -> None:
        """The old value is the latest again; the new version destroyed."""
        if row.new_ref:
            self._kv(target).restore(version_of(row.old_ref), version_of(row.new_ref))
