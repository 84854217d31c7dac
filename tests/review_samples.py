"""Review samples built at test time: a small git project with leaks, a tokens.yaml manifest and provider
listings in their documented formats (AWS credential report, GitHub/GitLab token lists, kubectl secrets).

Every token is generated here by TokenFactory; nothing is a literal. `plaintexts` lists them all so tests can
grep every output for them.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import string
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.tokens import ALNUM, TokenFactory
from tokenward.identity import github_hashed_token

AWS_ID = string.ascii_uppercase + "234567"
B64ISH = ALNUM + "/+"


@dataclass
class Scenario:
    """The generated tokens (plaintext: test memory only) and the files that hold or describe them."""

    tokens: dict[str, str]
    now: datetime
    files: dict[str, str] = field(default_factory=dict)  # project files, committed
    removed: dict[str, str] = field(default_factory=dict)  # committed, then deleted (history only)
    loose: dict[str, str] = field(default_factory=dict)  # not in git (a CI log)
    imports: dict[str, str] = field(default_factory=dict)  # import file name → content
    env: dict[str, str] = field(default_factory=dict)  # environment for pointer-fingerprinting

    @property
    def plaintexts(self) -> list[str]:
        """Every secret value planted anywhere (an AWS access key id is a public identifier, not a secret)."""
        return [v for k, v in self.tokens.items() if k != "aws_id"]


def make_tokens(f: TokenFactory) -> dict[str, str]:
    """One of each token the scenario plants."""
    return {
        "github": f.github_classic(),
        "stripe_live": f"sk_live_{f.chars(ALNUM, 99)}",
        "stripe_test": f"sk_test_{f.chars(ALNUM, 99)}",
        "aws_id": "AKIA" + f.chars(AWS_ID, 16),
        "aws_secret": f.chars(B64ISH, 40),
        "gitlab": "glpat-" + f.chars(ALNUM, 20),
        "slack": f"xoxb-{f.chars(string.digits, 12)}-{f.chars(string.digits, 13)}-{f.chars(ALNUM, 24)}",
        "sendgrid": f"SG.{f.chars(ALNUM, 22)}.{f.chars(ALNUM, 43)}",
        "db_password": f.chars(ALNUM, 28),
    }


def project_files(t: dict[str, str]) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(files in HEAD, files removed later, files outside git)."""
    head = {
        ".github/CODEOWNERS": "*  @acme/platform\n/app/ @acme/backend\n/deploy/ @acme/sre\n",
        "app/settings.py": f"import os\n\nGITHUB_TOKEN = '{t['github']}'\nDEBUG = False\n",
        ".env": f"STRIPE_SECRET_KEY={t['stripe_live']}\nAPI_URL=https://api.example.com\n",
        "config/production.yml": f"payments:\n  stripe_key: {t['stripe_test']}\n",
        "deploy/prod.env": f"AWS_ACCESS_KEY_ID={t['aws_id']}\nAWS_SECRET_ACCESS_KEY={t['aws_secret']}\n",
        "notes/oncall.md": f"# On-call\n\nGitLab token for the release job: {t['gitlab']}\n",
    }
    removed = {"app/slack.py": f"SLACK_BOT_TOKEN = '{t['slack']}'\n"}
    loose = {"ci-logs/build-1842.log": f"step 3/7: curl -H 'Authorization: Bearer {t['sendgrid']}' …\n"}
    return head, removed, loose


def _iso(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def aws_report(t: dict[str, str], now: datetime) -> tuple[str, str]:
    """(credential report CSV, list-access-keys JSON) in AWS's documented formats."""
    cols = ["user", "arn", "user_creation_time", "password_enabled", "password_last_used", "password_last_changed",
            "password_next_rotation", "mfa_active", "access_key_1_active", "access_key_1_last_rotated",
            "access_key_1_last_used_date", "access_key_1_last_used_region", "access_key_1_last_used_service",
            "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
            "access_key_2_last_used_region", "access_key_2_last_used_service", "cert_1_active",
            "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated"]
    created = now - timedelta(days=400)
    rows = [
        ["<root_account>", "arn:aws:iam::123456789012:root", _iso(now - timedelta(days=2000)), "not_supported",
         _iso(now - timedelta(days=3)), "not_supported", "not_supported", "true", "true",
         _iso(now - timedelta(days=900)), _iso(now - timedelta(days=200)), "us-east-1", "iam", "false", "N/A",
         "N/A", "N/A", "N/A", "false", "N/A", "false", "N/A"],
        ["ci-deployer", "arn:aws:iam::123456789012:user/ci-deployer", _iso(now - timedelta(days=500)), "false",
         "N/A", "N/A", "N/A", "false", "true", _iso(created), _iso(now - timedelta(days=2)), "eu-west-1", "s3",
         "false", _iso(now - timedelta(days=700)), "N/A", "N/A", "N/A", "false", "N/A", "false", "N/A"],
    ]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    writer.writerows(rows)
    keys = {"AccessKeyMetadata": [{"UserName": "ci-deployer", "AccessKeyId": t["aws_id"], "Status": "Active",
                                   "CreateDate": _iso(created)}]}
    return buf.getvalue(), json.dumps(keys, indent=2)


def github_listing(t: dict[str, str], now: datetime) -> str:
    """Org credential authorizations (classic PAT) and fine-grained PATs, as one JSON list."""
    classic = {"login": "octo-deployer", "credential_id": 161195, "credential_type": "personal access token",
               "token_last_eight": t["github"][-8:], "credential_authorized_at": _iso(now - timedelta(days=220)),
               "credential_accessed_at": _iso(now - timedelta(days=1)), "scopes": ["repo", "admin:org", "workflow"],
               "authorized_credential_id": 12345678, "authorized_credential_title": "deploy bot",
               "authorized_credential_note": "deploy bot", "authorized_credential_expires_at": None}
    fine = {"id": 25381, "owner": {"login": "mona", "id": 2, "type": "User"}, "repository_selection": "all",
            "repositories_url": "https://api.github.com/organizations/652551/personal-access-tokens/25381/repositories",
            "permissions": {"organization": {"members": "read"}, "repository": {"administration": "write",
                                                                                 "contents": "read"}, "other": {}},
            "access_granted_at": _iso(now - timedelta(days=300)), "token_id": 98716, "token_name": "mona-admin-script",
            "token_expired": False, "token_expires_at": _iso(now + timedelta(days=600)),
            "token_last_used_at": _iso(now - timedelta(days=120))}
    ssh = {"login": "mona", "credential_id": 7, "credential_type": "SSH key", "fingerprint": "jklmnop12345678",
           "credential_authorized_at": _iso(now - timedelta(days=30)), "scopes": []}
    return json.dumps([classic, fine, ssh], indent=2)


def gitlab_listing(now: datetime) -> str:
    """GET /personal_access_tokens: one active PAT with api scope and no expiry, one revoked."""
    return json.dumps([
        {"id": 41, "name": "release-job", "revoked": False, "created_at": _iso(now - timedelta(days=150)),
         "description": "tags releases", "scopes": ["api", "read_repository"], "user_id": 17,
         "last_used_at": _iso(now - timedelta(days=4)), "active": True, "expires_at": None},
        {"id": 42, "name": "old-ci", "revoked": True, "created_at": _iso(now - timedelta(days=800)),
         "description": "", "scopes": ["read_api"], "user_id": 17, "last_used_at": None, "active": False,
         "expires_at": (now - timedelta(days=400)).strftime("%Y-%m-%d")},
    ], indent=2)


def _secret(ns: str, name: str, data: dict[str, str], app: str, created: datetime, kind: str = "Opaque") -> dict[
        str, object]:
    return {"apiVersion": "v1", "kind": "Secret", "type": kind,
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": _iso(created),
                         "labels": {"app.kubernetes.io/name": app}, "uid": f"uid-{ns}-{name}"},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def k8s_listing(t: dict[str, str], now: datetime) -> str:
    """`kubectl get secrets -A -o json`: the live Stripe key in prod and staging, a DB password."""
    items = [
        _secret("payments-prod", "stripe", {"api-key": t["stripe_live"] + "\n"}, "payments", now - timedelta(days=60)),
        _secret("payments-staging", "stripe", {"api-key": t["stripe_live"]}, "checkout", now - timedelta(days=30)),
        _secret("orders-prod", "db", {"password": t["db_password"], "username": "orders"}, "orders",
                now - timedelta(days=10)),
        {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
         "metadata": {"name": "sh.helm.release.v1.x.v1", "namespace": "orders-prod"}, "data": {"release": "H4sI"}},
    ]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}},
                      indent=2)


def manifest(t: dict[str, str]) -> str:
    """tokens.yaml declaring four of the tokens, each recognised a different way."""
    return f"""# Declared tokens of the demo organisation
version: 1
tokens:
  - name: deploy-bot-github
    provider: github
    service: deploy-bot
    function: pushes release tags and opens deployment PRs
    owner: "@acme/platform"
    purpose: write
    allowed_scopes: [repo, workflow]
    max_age_days: 90
    storage: openbao:secret/deploy/github#token
    match:
      github_hashed_token: "{github_hashed_token(t['github'].encode())}"
  - name: release-job-gitlab
    provider: gitlab
    service: release-job
    function: reads repositories to build release notes
    owner: dana@acme.example
    purpose: read
    storage: k8s:ci/gitlab#token
    match:
      env: DEMO_GITLAB_TOKEN
      provider_id: [gitlab:pat:41]
  - name: ci-deployer-aws
    provider: aws
    service: deployer
    function: uploads build artefacts to S3
    owner: "@acme/sre"
    purpose: write
    storage: deploy/prod.env
    match:
      aws_key_id: {t['aws_id']}
  - name: payments-stripe
    provider: stripe
    service: payments
    function: charges cards
    owner: "@acme/payments"
    purpose: write
    environment: production
    storage: k8s:payments-prod/stripe#api-key
    match:
      env: DEMO_STRIPE_KEY
"""


def scenario(seed: int = 2026, now: datetime | None = None) -> Scenario:
    """The whole review scenario."""
    t = make_tokens(TokenFactory(seed))
    now = now or datetime.now(UTC).replace(microsecond=0)
    head, removed, loose = project_files(t)
    report, keys = aws_report(t, now)
    imports = {"tokens.yaml": manifest(t), "credential-report.csv": report, "access-keys.json": keys,
               "github-tokens.json": github_listing(t, now), "gitlab-tokens.json": gitlab_listing(now),
               "k8s-secrets.json": k8s_listing(t, now)}
    env = {"DEMO_GITLAB_TOKEN": t["gitlab"], "DEMO_STRIPE_KEY": t["stripe_live"]}
    return Scenario(t, now, head, removed, loose, imports, env)


def _git(repo: Path, *args: str, when: datetime, author: str) -> None:
    name, email = author.split(" <")
    env = {**os.environ, "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email.rstrip(">"),
           "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email.rstrip(">"),
           "GIT_AUTHOR_DATE": when.isoformat(), "GIT_COMMITTER_DATE": when.isoformat()}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def write_project(s: Scenario, root: Path) -> tuple[Path, Path]:
    """Write the git project (history with a removed leak) and the loose CI logs; returns (repo, logs dir)."""
    repo, logs = root / "project", root / "ci-logs"
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    for i, (rel, body) in enumerate([*s.files.items(), *s.removed.items()]):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(body)
        author = "Ana Lopez <ana@acme.example>" if i % 2 else "Bo Chen <bo@acme.example>"
        _git(repo, "add", rel, when=s.now - timedelta(days=200 - i * 20), author=author)
        _git(repo, "commit", "-q", "-m", f"add {rel}", when=s.now - timedelta(days=200 - i * 20), author=author)
    for rel in s.removed:
        _git(repo, "rm", "-q", rel, when=s.now - timedelta(days=30), author="Bo Chen <bo@acme.example>")
        _git(repo, "commit", "-q", "-m", f"remove {rel}", when=s.now - timedelta(days=30),
             author="Bo Chen <bo@acme.example>")
    for rel, body in s.loose.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(body)
    return repo, logs


def write_imports(s: Scenario, root: Path) -> dict[str, Path]:
    """Write the manifest and provider listings; returns name → path."""
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, body in s.imports.items():
        (root / name).write_text(body)
        out[name] = root / name
    return out


def shared_rule_cache(base: Path) -> Path:
    """A compiled-rule cache directory shared by every test of the session (compiling costs seconds)."""
    path = base / "shared-rule-cache"
    path.mkdir(exist_ok=True)
    return path
