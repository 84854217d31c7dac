"""A served inventory wired for the provider actions: the web tests' hostile project (tests/web_site.py), a
fake GitHub behind $TOKENWARD_VERIFY_ENDPOINTS (the fake the `verify`/`revoke` CLI tests use), one token
also held in a real OpenBao KV secret and imported (as the `rotate` CLI tests link it), and GitHub audit-log
usage of one token read by the real `tokenward monitor`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.openbao import BaoServer
from tests.tokens import TokenFactory
from tests.usage_samples import github_audit_record
from tests.verify_fake import Fake
from tests.web_site import TOKENWARD, Site, _more_users, add_user, build_project, serving, site_env
from tokenward.verify.interface import Example
from tokenward.verify.registry import REVOKERS, VERIFIERS

MONITORED_START = datetime(2026, 11, 2, 9, tzinfo=UTC)


@dataclass
class ActionSite:
    """The served site, its fake provider, the OpenBao server, and the tokens the tests act on."""

    site: Site
    fake: Fake
    bao: BaoServer
    vaulted: str  # plaintext of the token that also lives in OpenBao (rotated by the tests)
    monitored: str  # plaintext of the token the usage log shows
    kv_path: str  # where in OpenBao's KV mount `secret` (one per site: sites may share a server)

    def token_id(self, secret: str) -> str:
        """The id of the token whose preview ends like secret (previews keep the last 4 characters)."""
        with self.site.client() as c:
            rows = c.get("/api/tokens", params={"per_page": 200}).json()["items"]
        (found,) = [r["token_id"] for r in rows if r["preview"][-4:] == secret[-4:]]
        return str(found)


def github_routes() -> tuple[Example, ...]:
    """The documented GitHub responses: /user says live with scopes, /credentials/revoke accepts."""
    return (*VERIFIERS["github.pat-classic"].examples().live, *REVOKERS["github.pat-classic"].examples().live)


def _cli(env: dict[str, str], *args: str, ok: tuple[int, ...] = (0,)) -> str:
    proc = subprocess.run([TOKENWARD, *args], env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode in ok, (args[0], proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc.stdout


def _vaulted(root: Path, env: dict[str, str], bao: BaoServer, db: str, kv_path: str) -> str:
    """A GitHub token in a deploy file and in OpenBao KV, scanned and imported: the two records join."""
    token = TokenFactory(91).github_classic()
    (root / "vaulted").mkdir(parents=True)
    (root / "vaulted" / "deploy.env").write_text(f"DEPLOY_TOKEN={token}\n")
    bao.kv_put(kv_path, {"token": token, "region": "eu-west-1"})
    _cli(env, "scan", str(root / "vaulted"), "--db", db, "-q", ok=(0, 1))
    _cli(env, "import", "openbao", "--no-tokens", "--mount", "secret", "--db", db)
    return token


def _monitored(root: Path, env: dict[str, str], db: str, token: str) -> None:
    """Ten days of ordinary clones, then a repository deletion from another country (two alerts)."""
    at = MONITORED_START
    records = [github_audit_record(token, at + timedelta(days=d, hours=h), doc=d * 3 + h)
               for d in range(10) for h in range(3)]
    records.append(github_audit_record(token, at + timedelta(days=11, hours=2), action="repo.destroy",
                                       ip="5.188.10.1", doc=99))
    log = root / "github-audit.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    _cli(env, "monitor", str(log), "--db", db, "-f", "github-audit", ok=(1,))


@contextmanager
def action_site(base: Path, db: str, fake: Fake, bao: BaoServer) -> Iterator[ActionSite]:
    """Build, scan, import, monitor, add users and serve; the server sees the fake and OpenBao."""
    env = site_env(base / "home")
    env.update({"TOKENWARD_VERIFY_ENDPOINTS": f"*={fake.url}", "BAO_ADDR": bao.addr, "BAO_TOKEN": bao.root_token})
    secrets = build_project(base / "project", env)
    s = Site("", db, env, base / "project", secrets, log=base / "serve.log")
    s.scan(s.root / "javascript:alert(9)")
    kv_path = f"apps/{base.name}"
    vaulted = _vaulted(base / "more", env, bao, db, kv_path)
    _monitored(base, env, db, secrets[0])
    s.keys = {"admin": add_user(db, env, "admin", "admin"), **_more_users(db)}
    s.secrets = [*secrets, vaulted]
    with serving(db, env, base / "serve.log") as url:
        s.url = url
        yield ActionSite(s, fake, bao, vaulted, secrets[0], kv_path)
