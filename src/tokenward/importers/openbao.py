"""OpenBao / Vault importer: KV v2 metadata (paths, versions, times) and token accessors with policies and TTLs.

Secret values are read only to fingerprint them (HMAC token_id) so they join leaked tokens; they are never
stored. The client token comes from $BAO_TOKEN or $VAULT_TOKEN (never a command-line argument).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from tokenward.classify import environment_hint
from tokenward.errors import ImporterError
from tokenward.importers.interface import DeclaredToken, ImportContext, ImportRequest, ImportResult, parse_time
from tokenward.importers.values import identify

TOKEN_ENVS = ("BAO_TOKEN", "VAULT_TOKEN")
ADDR_ENVS = ("BAO_ADDR", "VAULT_ADDR")
MAX_SECRETS = 20000
POLICY_PATH = re.compile(r'path\s+"([^"]+)"\s*\{([^}]*)\}', re.S)


def client_token(options: dict[str, str] | None = None) -> str:
    """The OpenBao token from the options' token_env, $BAO_TOKEN or $VAULT_TOKEN."""
    names = [options["token_env"]] if options and options.get("token_env") else list(TOKEN_ENVS)
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    raise ImporterError(f"no OpenBao token: set {' or '.join(names)}")


def server_addr(addr: str | None) -> str:
    """The server address from the argument, $BAO_ADDR or $VAULT_ADDR."""
    value = addr or next((os.environ[n] for n in ADDR_ENVS if os.environ.get(n)), None)
    if not value:
        raise ImporterError("no OpenBao address: pass --addr or set BAO_ADDR")
    return value.rstrip("/")


@dataclass
class BaoClient:
    """A minimal Vault HTTP API client (the calls tokenward needs, nothing else)."""

    addr: str
    token: str
    timeout: float = 10.0

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.addr, timeout=self.timeout, headers={"X-Vault-Token": self.token})

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """One API call; None on 404; ImporterError on other failures (the token is never in the message)."""
        try:
            response = self.http.request(method, f"/v1/{path.lstrip('/')}", json=body)
        except httpx.HTTPError as exc:
            raise ImporterError(f"{self.addr}: cannot reach OpenBao ({exc.__class__.__name__})") from None
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            errors = "; ".join(str(e) for e in (_json(response).get("errors") or []))[:200]
            raise ImporterError(f"{self.addr}: {method} /v1/{path} → HTTP {response.status_code} {errors}".rstrip())
        return _json(response)

    def list(self, path: str) -> list[str]:
        """The keys of a LIST call (empty when the path has none)."""
        data = self.call("LIST", path)
        return [str(k) for k in ((data or {}).get("data") or {}).get("keys") or []]

    def kv_read(self, mount: str, path: str) -> dict[str, Any]:
        """The current data of a KV v2 secret (caller must only fingerprint it)."""
        data = self.call("GET", f"{mount}/data/{path}")
        return dict(((data or {}).get("data") or {}).get("data") or {})


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def kv2_mounts(client: BaoClient) -> list[str]:
    """The KV version 2 mounts of the server."""
    mounts = client.call("GET", "sys/mounts") or {}
    table = mounts.get("data") or mounts
    return sorted(name.rstrip("/") for name, m in table.items()
                  if isinstance(m, dict) and m.get("type") == "kv" and (m.get("options") or {}).get("version") == "2")


def walk_kv(client: BaoClient, mount: str, prefix: str = "") -> Iterator[str]:
    """Every secret path under prefix of a KV v2 mount (depth first, bounded)."""
    stack, count = [prefix], 0
    while stack:
        folder = stack.pop()
        for key in sorted(client.list(f"{mount}/metadata/{folder}"), reverse=True):
            if key.endswith("/"):
                stack.append(folder + key)
            else:
                count += 1
                if count > MAX_SECRETS:
                    return
                yield folder + key


def _kv_records(client: BaoClient, mount: str, path: str, ctx: ImportContext) -> list[DeclaredToken]:
    meta = ((client.call("GET", f"{mount}/metadata/{path}") or {}).get("data")) or {}
    custom = {str(k): str(v) for k, v in (meta.get("custom_metadata") or {}).items()}
    current = str(meta.get("current_version") or "")
    version = (meta.get("versions") or {}).get(current) or {}
    records = []
    for name, value in sorted(client.kv_read(mount, path).items()):
        if not isinstance(value, str):
            continue
        for ident in identify(value.encode(), ctx.fingerprinter, ctx.matcher()):
            where = f"{mount}/{path}#{name}"
            records.append(DeclaredToken(
                origin="openbao", external_id=f"{where}@{ident.token_id[:16]}", provider=ident.provider,
                kind=ident.kind, token_id=ident.token_id, public_ids=ident.public_ids, name=f"{path}#{name}",
                service=custom.get("service"), owner=custom.get("owner"), function=custom.get("function"),
                environment=custom.get("environment") or environment_hint(path) or ident.environment,
                privilege=ident.privilege, created_at=parse_time(version.get("created_time")),
                location=f"openbao:{where}", storage=f"openbao:{where}", preview=ident.preview,
                details=(("versions", str(len(meta.get("versions") or {}))), ("current_version", current),
                         ("updated_time", str(meta.get("updated_time") or "")),
                         ("first_created", str(meta.get("created_time") or "")))))
    return records


def policy_privilege(client: BaoClient, names: list[str]) -> tuple[str, tuple[str, ...]]:
    """(read | write | admin, god-mode policies): '*' paths, sudo and the root policy are god mode."""
    god: list[str] = []
    level = "read"
    for name in names:
        if name == "root":
            god.append(name)
            continue
        if name == "default":  # self-service only (own token, cubbyhole)
            continue
        policy = ((client.call("GET", f"sys/policies/acl/{name}") or {}).get("data") or {}).get("policy") or ""
        for path, body in POLICY_PATH.findall(str(policy)):
            if path.strip() in ("*", "+/*", "/*") or "sudo" in body:
                god.append(name)
            if any(cap in body for cap in ('"create"', '"update"', '"delete"', '"patch"')):
                level = "write"
    return ("admin" if god else level), tuple(sorted(set(god)))


def _accessor_record(client: BaoClient, accessor: str) -> DeclaredToken | None:
    data = (client.call("POST", "auth/token/lookup-accessor", {"accessor": accessor}) or {}).get("data") or {}
    if not data:
        return None
    policies = [str(p) for p in data.get("policies") or []]
    privilege, god = policy_privilege(client, policies)
    meta = {str(k): str(v) for k, v in (data.get("meta") or {}).items()}
    scopes = tuple(["root"] if "root" in policies else []) + tuple(f"policy:{p}" for p in policies)
    return DeclaredToken(
        origin="openbao", external_id=f"openbao:accessor:{accessor}", provider="openbao",
        kind=f"{data.get('type') or 'service'}-token",
        name=f"{data.get('display_name') or 'token'} ({', '.join(policies) or 'no policy'})",
        owner=meta.get("owner"), service=meta.get("service"), scopes=scopes,
        privilege=privilege,
        created_at=parse_time(data.get("issue_time") or data.get("creation_time")),
        expires_at=parse_time(data.get("expire_time")), active=True,
        details=(("accessor", accessor), ("policies", ",".join(policies)), ("ttl", str(data.get("ttl"))),
                 ("creation_ttl", str(data.get("creation_ttl"))), ("path", str(data.get("path") or "")),
                 ("wildcard_policies", ",".join(god)), ("orphan", str(data.get("orphan")).lower())))


def import_openbao(request: ImportRequest, ctx: ImportContext) -> ImportResult:
    """KV v2 secrets (fingerprinted, values never stored) and token accessors of an OpenBao/Vault server."""
    addr = server_addr(request.source or None)
    client = BaoClient(addr, client_token(dict(request.options)))
    try:
        mounts = [m for m in request.options.get("mounts", "").split(",") if m] or kv2_mounts(client)
        records = [r for m in mounts for path in walk_kv(client, m) for r in _kv_records(client, m, path, ctx)]
        notes: list[str] = []
        accessors = [] if request.options.get("no_tokens") else _accessors(client, notes)
        records.extend(r for a in accessors if (r := _accessor_record(client, a)) is not None)
    finally:
        client.close()
    return ImportResult("openbao", addr, tuple(records), tuple(notes))


def _accessors(client: BaoClient, notes: list[str]) -> list[str]:
    try:
        return client.list("auth/token/accessors")
    except ImporterError as exc:
        notes.append(f"token accessors not listed (needs sudo on auth/token/accessors): {exc}")
        return []
