"""Build the bundled demo project (fake tokens generated now, never stored) and scan it.

Usage: python scripts/demo.py [--out build/demo]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
