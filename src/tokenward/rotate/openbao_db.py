"""OpenBao/Vault database secrets engine rotation: a new lease from the role's creds endpoint, written as a new
version of the KV secret consumers read (a PostgreSQL URL plus its lease id), checked by logging in to
PostgreSQL with it, and the old lease revoked (and the old KV version destroyed) after the overlap.

A crash after the lease is issued but before the KV write leaves an unused lease: it is never handed out and
expires at the role's TTL (its id was never persisted, so it cannot be revoked earlier).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from tokenward.rotate.interface import ISSUED, REVOKED, SWITCHED, RotationError, RotationStep, Target
from tokenward.rotate.openbao_kv import BaoApi, Kv, KvLocation, parse_ref, ref, version_of
from tokenward.store.rotation import RotationRow

LEASE_FIELD = "lease_id"  # stored beside the URL in the same KV version: a lease id is a handle, not a secret


@dataclass(frozen=True)
class DbLocation:
    """dbmount/role@mount/path#field: the role to lease from and the KV field consumers read."""

    mount: str
    role: str
    kv: KvLocation

    @classmethod
    def parse(cls, text: str) -> DbLocation:
        """From database/role@secret/app/db#url."""
        role_part, _, kv_part = text.partition("@")
        mount, _, role = role_part.rpartition("/")
        if not (mount and role and kv_part):
            raise RotationError(f"{text!r} is not a database rotation location (dbmount/role@mount/path#field)")
        return cls(mount, role, KvLocation.parse(kv_part))


def with_credentials(url: str, username: str, password: str) -> str:
    """url with its user and password replaced (host, port, database and options kept)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(username, safe='')}:{quote(password, safe='')}@{host}"))


def login_works(url: str) -> str | None:
    """None when PostgreSQL accepts url's credentials (as that user); else why not, without the URL."""
    import psycopg

    user = unquote(urlsplit(url).username or "")
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            who = conn.execute("SELECT current_user").fetchone()
    except psycopg.Error as exc:
        return f"PostgreSQL refused the new credential ({type(exc).__name__} {exc.sqlstate or ''})".rstrip()
    return None if who and who[0] == user else "PostgreSQL logged in as another user"


class OpenBaoDbRotator:
    """Database secrets engine: new lease → KV → login check → old lease revoked."""

    backend = "openbao-db"
    keeps_old = False

    def __init__(self, api: BaoApi) -> None:
        self.api = api

    def _loc(self, target: Target) -> tuple[DbLocation, Kv]:
        loc = DbLocation.parse(target.location)
        return loc, Kv(self.api, loc.kv)

    def steps(self, target: Target) -> tuple[RotationStep, ...]:
        """What each transition does."""
        loc, _ = self._loc(target)
        where = f"{loc.kv.mount}/{loc.kv.path}#{loc.kv.field}"
        return (RotationStep(ISSUED, f"lease new credentials from {loc.mount}/creds/{loc.role} and write them to "
                                     f"{where} (never shown)"),
                RotationStep(SWITCHED, "log in to PostgreSQL with the new credentials; consumers read the latest"),
                RotationStep(REVOKED, f"after the overlap, revoke the old lease and destroy the old version of "
                                      f"{where}"))

    def current(self, target: Target) -> str:
        """version=N lease=… of the latest KV version."""
        _, kv = self._loc(target)
        version = kv.current_version()
        data = kv.read(version)
        if kv.loc.field not in data:
            raise RotationError(f"{target.location}: version {version} has no field {kv.loc.field!r}")
        return ref(version=version, lease=data.get(LEASE_FIELD))

    def issue(self, target: Target, row: RotationRow) -> str:
        """A new lease, written with the URL as a new KV version (check-and-set: once)."""
        loc, kv = self._loc(target)
        data = kv.read(version_of(row.old_ref))
        lease = self.api.call("GET", f"{loc.mount}/creds/{loc.role}")
        creds = lease.get("data") or {}
        if not (lease.get("lease_id") and creds.get("username") and creds.get("password")):
            raise RotationError(f"{loc.mount}/creds/{loc.role} returned no credentials")
        data[kv.loc.field] = with_credentials(str(data[kv.loc.field]), creds["username"], creds["password"])
        data[LEASE_FIELD] = lease["lease_id"]
        version = kv.write_once(data, row)
        return ref(version=version, lease=kv.read(version).get(LEASE_FIELD))

    def verify(self, target: Target, row: RotationRow) -> str | None:
        """PostgreSQL accepts the latest URL, and it is the new version."""
        _, kv = self._loc(target)
        if kv.current_version() != version_of(row.new_ref):
            return f"{target.location}: the latest version is not the new one"
        return login_works(str(kv.read().get(kv.loc.field) or ""))

    def switch(self, target: Target, row: RotationRow) -> None:
        """Consumers read the latest version: it must still be ours."""
        if self._loc(target)[1].current_version() != version_of(row.new_ref):
            raise RotationError(f"{target.location} was written again during the rotation")

    def revoke_old(self, target: Target, row: RotationRow) -> None:
        """Revoke the old lease (when there was one) and destroy the old KV version."""
        old = parse_ref(row.old_ref)
        if old.get("lease"):
            self.api.call("PUT", "sys/leases/revoke", {"lease_id": old["lease"]})
        self._loc(target)[1].destroy(version_of(row.old_ref))

    def purge_old(self, target: Target, row: RotationRow) -> None:
        """Nothing is kept after revocation."""

    def rollback(self, target: Target, row: RotationRow) -> None:
        """Revoke the new lease, make the old version the latest again, destroy the new one."""
        new = parse_ref(row.new_ref)
        if new.get("lease"):
            self.api.call("PUT", "sys/leases/revoke", {"lease_id": new["lease"]})
        if row.new_ref:
            self._loc(target)[1].restore(version_of(row.old_ref), version_of(row.new_ref))
