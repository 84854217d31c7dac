"""Every benchmark in one run: one table per target, tokenward and the peers side by side.

    .venv/bin/python benchmarks/run_all.py [--quick] [--only NAME,...] [--redis PATH] [--git PATH]

Runs, each as its own process so that one failing does not stop the others, and prints their
Markdown tables in order (a failed one prints its last lines instead):

- startup        `tokenward --help`, one-file scan cold and warm (benchmarks/startup.py)
- rule_db        MB/s of the rule database alone, by tier (benchmarks/rule_db.py)
- throughput     a 239 MB source tree vs gitleaks and Kingfisher (benchmarks/throughput.py)
- accuracy       the peer checklist set vs gitleaks, Kingfisher, CredSweeper (accuracy/checklist_run.py)
- git-synthetic  full history of the synthetic repository, rescan after one commit (git_history.py)
- git-redis      full history of redis/redis (git_history.py --repo; fetch it first, see README)
- git-git        full history of git/git (git_history.py --repo)
- monitor        CloudTrail gzip and JSON lines through `tokenward monitor` (monitor_throughput.py)

Measure on a quiet machine: nothing else running. --quick takes one round where a script allows it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable


def plan(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    """(name, argv) of every benchmark to run."""
    rounds = ["--repeat", "1"] if args.quick else []
    runs = ["--runs", "1"] if args.quick else []
    todo = [
        ("startup", [PY, str(HERE / "startup.py"), *(["--runs", "3"] if args.quick else [])]),
        ("rule_db", [PY, str(HERE / "rule_db.py")]),
        ("throughput", [PY, str(HERE / "throughput.py"), *runs]),
        ("accuracy", [PY, str(HERE / "accuracy" / "checklist_run.py")]),
        ("git-synthetic", [PY, str(HERE / "git_history.py"), *rounds]),
        ("monitor", [PY, str(HERE / "monitor_throughput.py")]),
    ]
    if args.redis:
        todo.append(("git-redis", [PY, str(HERE / "git_history.py"), "--repo", args.redis, *rounds]))
    if args.git:
        todo.append(("git-git", [PY, str(HERE / "git_history.py"), "--repo", args.git, *rounds]))
    wanted = set(args.only.split(",")) if args.only else None
    return [(name, argv) for name, argv in todo if wanted is None or name in wanted]


def tables(output: str) -> str:
    """The Markdown table lines (and the lines right above them) of a script's output."""
    lines = output.splitlines()
    keep = [i for i, line in enumerate(lines) if line.startswith("|")]
    if not keep:
        return "\n".join(lines[-15:])
    return "\n".join(lines[max(0, keep[0] - 2): keep[-1] + 1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--redis", default="", help="path of a redis/redis clone or mirror")
    ap.add_argument("--git", default="", help="path of a git/git clone or mirror")
    args = ap.parse_args()
    for name, argv in plan(args):
        started = time.monotonic()
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        took = time.monotonic() - started
        status = "" if proc.returncode == 0 else f" — FAILED (exit {proc.returncode})"
        print(f"\n## {name} ({took:.0f} s){status}\n")
        print(tables(proc.stdout + ("\n" + proc.stderr if proc.returncode else "")), flush=True)


if __name__ == "__main__":
    main()
