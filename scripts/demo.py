"""Build the bundled demo project (fake tokens generated now, never stored), scan it, then run a full
token review: a git project with leaks, a tokens.yaml manifest, AWS/GitHub/GitLab/Kubernetes samples and
(when `bao` is installed) a real OpenBao dev server, reviewed in every format.

Usage: python scripts/demo.py [--out build/demo]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.review_samples import Scenario, scenario, write_imports, write_project  # noqa: E402
from tests.tokens import ALNUM, HEX, TokenFactory  # noqa: E402


def demo_files(f: TokenFactory) -> dict[str, str]:
    """The demo project's files: an app with leaks in code, config, CI and notes."""
    return {
        "app/settings.py": (
            "import os\n\nDEBUG = False\n"
            f"GITHUB_TOKEN = '{f.github_classic()}'\n"
            "DATABASE_PASSWORD = os.environ['DATABASE_PASSWORD']  # fine: a reference\n"
            f"SENTRY_DSN = 'https://{f.chars(HEX, 32)}@o1.ingest.sentry.io/42'\n"
        ),
        ".env": (
            f"STRIPE_SECRET_KEY=sk_live_{f.chars(ALNUM, 99)}\n"
            f"SLACK_BOT_TOKEN=xoxb-{f.chars('0123456789', 12)}-{f.chars('0123456789', 13)}-{f.chars(ALNUM, 24)}\n"
            "API_URL=https://api.example.com\n"
        ),
        "deploy/ci.yml": (
            "jobs:\n  deploy:\n    steps:\n      - run: ./deploy.sh\n        env:\n"
            f"          DATABASE_URL: postgres://deploy:{f.chars(ALNUM, 22)}@db.prod.internal:5432/app\n"
            "          TOKEN: ${{ secrets.DEPLOY_TOKEN }}\n"
        ),
        "notes/oncall.md": (
            "# On-call notes\n\nTemporary npm token for the release job (rotate!):\n\n"
            f"    //registry.npmjs.org/:_authToken={f.crc_base62('npm_')}\n"
        ),
        "docs/README.md": "Set `GITHUB_TOKEN=<your-token>` before running. Never commit `ghp_` tokens.\n",
    }


def main() -> int:
    """Write the demo project and run `tokenward scan` on it in every format."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "demo")
    args = parser.parse_args()
    project, reports = args.out / "project", args.out / "reports"
    shutil.rmtree(args.out, ignore_errors=True)
    for rel, body in demo_files(TokenFactory(2026)).items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(body)
    reports.mkdir(parents=True)
    tw = [sys.executable, "-m", "tokenward"]
    print(f"$ tokenward scan {project}", flush=True)
    subprocess.run([*tw, "scan", "-q", str(project)], check=False)
    for fmt in ("json", "sarif", "csv"):
        subprocess.run([*tw, "scan", "-q", "-f", fmt, "-o", str(reports / f"scan.{fmt}"), str(project)],
                       check=False, capture_output=True)
    print(f"\nreports written to {reports}")
    review_demo(args.out / "review", reports)
    return 0


REVIEW_FORMATS = {"text": "txt", "json": "json", "sarif": "sarif", "md": "md", "html": "html"}


def _openbao_import(s: Scenario, run: Callable[..., object], root: Path) -> None:
    """Put the live Stripe key in a real OpenBao dev server (when `bao` is installed) and import it; then
    act: verify and revoke a leaked OpenBao token, rotate the Stripe key's secret."""
    try:
        from tests.openbao import openbao_dev_server

        with openbao_dev_server() as bao:
            bao.kv_put("payments/prod/stripe", {"api_key": s.tokens["stripe_live"]},
                       {"owner": "@acme/payments", "service": "payments"})
            bao.policy("everything", 'path "*" { capabilities = ["create", "read", "update", "delete", "sudo"] }')
            bao.token(["everything"], meta={"owner": "ops-bot"})
            run("import", "openbao", "--addr", bao.addr, extra_env={"BAO_TOKEN": bao.root_token})
            _act(s, run, bao, root)
    except BaseException as exc:  # pytest's skip is a BaseException: no bao here, the demo goes on
        if isinstance(exc, KeyboardInterrupt):
            raise
        print(f"(OpenBao step skipped: {exc})")


def _act(s: Scenario, run: Callable[..., object], bao: Any, root: Path) -> None:
    """A CI token for the server leaks into a deploy script: verify it (live), revoke it, verify again
    (invalid); rotate the Stripe key held in OpenBao (the new value goes straight into OpenBao)."""
    from tokenward.identity import Fingerprinter, load_key

    print("\n== act: verify, revoke and rotate against the real OpenBao server ==")
    leaked = bao.api("POST", "auth/token/create", {"policies": ["default"], "meta": {"owner": "ci"}})["auth"]
    place = root / "leaks" / "deploy.sh"
    place.parent.mkdir(parents=True, exist_ok=True)
    place.write_text(f"#!/bin/sh\nexport VAULT_ADDR={bao.addr}\nexport VAULT_TOKEN={leaked['client_token']}\n")
    run("scan", "-q", str(place.parent), quiet=True)
    fp = Fingerprinter(load_key())
    ci_token = fp.token_id(leaked["client_token"].encode())[:16]
    run("verify", ci_token, "--addr", bao.addr)
    run("revoke", ci_token, "--addr", bao.addr, "--yes")
    run("verify", ci_token, "--addr", bao.addr, "--refresh")
    stripe = fp.token_id(s.tokens["stripe_live"].encode())[:16]
    run("rotate", stripe, "--addr", bao.addr, "--overlap", "0", "--yes", extra_env={"BAO_TOKEN": bao.root_token})


def _dashboard(db: Path, run: Callable[..., object]) -> None:
    """Create a one-time admin key and say how to open the dashboard (the server is not left running)."""
    print("\n== dashboard ==")
    run("users", "add", "demo-admin", "--role", "admin", "--db", str(db))
    print(f"start it with:  tokenward serve --db {db}\nthen open http://127.0.0.1:8000/ and sign in with the "
          "key above (shown once)")


def review_demo(root: Path, reports: Path) -> None:
    """Scan a git project with leaks, import a tokens.yaml manifest and provider listings, review everything."""
    s = scenario()
    repo, logs = write_project(s, root)
    files = write_imports(s, root / "imports")
    db = root / "inventory.db"
    env = {**os.environ, **s.env, "TOKENWARD_DB": str(db)}
    tw = [sys.executable, "-m", "tokenward"]

    def run(*argv: str, extra_env: dict[str, str] | None = None, quiet: bool = False) -> object:
        print(f"$ tokenward {' '.join(argv)}", flush=True)
        return subprocess.run([*tw, *argv], check=False, env={**env, **(extra_env or {})},
                              stdout=subprocess.DEVNULL if quiet else None)

    print("\n== review: scan, import the declared and provider inventories, apply the policy ==")
    run("scan", "-q", str(repo), quiet=True)
    run("scan", "-q", str(logs), quiet=True)
    run("import", "manifest", str(files["tokens.yaml"]))
    run("import", "aws-credential-report", str(files["credential-report.csv"]), "--access-keys",
        str(files["access-keys.json"]))
    run("import", "github-tokens", str(files["github-tokens.json"]))
    run("import", "gitlab-tokens", str(files["gitlab-tokens.json"]))
    run("import", "k8s-secrets", str(files["k8s-secrets.json"]))
    _openbao_import(s, run, root)
    for fmt, ext in REVIEW_FORMATS.items():
        run("review", "-f", fmt, "-o", str(reports / f"review.{ext}"))
    run("review", "-f", "text", "--fail-on", "none")
    print(f"\nreview written to {reports}/review.{{txt,json,sarif,md,html}} (open review.html in a browser)")
    _dashboard(db, run)


if __name__ == "__main__":
    raise SystemExit(main())
