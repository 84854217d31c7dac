"""Start-up benchmark: what a first run on a fresh machine (every CI job) pays before scanning.

    python benchmarks/startup.py [--runs 5]

Times, end to end as a user runs them (wall clock of the real command, min and median of --runs):
- `tokenward --help`;
- a one-file scan with a **cold** HOME: empty config/cache/data directories, so the rule set is loaded
  and the Hyperscan database compiled from scratch (target: ≤ 2 s with the full rule set);
- the same scan **warm** (the compiled database cached by content hash);
- the same scan **recorded** (no --no-db, as a user runs it): with a cold HOME into a new inventory
  (a CI job's first scan: the inventory is created too), and warm into the inventory earlier runs left;
- peers in the same run for scale: `gitleaks dir` and `kingfisher scan` on the same file.
The file holds one fake token built here. Nothing is written outside benchmarks/work/startup/.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import string
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import peers  # noqa: E402

WORK = BENCH / "work" / "startup"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOKENWARD_", "XDG_"))}
    env.update({"HOME": str(home), "TOKENWARD_DB": str(home / "inventory.db"), "NO_COLOR": "1"})
    # Bytecode cached as an installed CLI has it (this sandbox sets PYTHONDONTWRITEBYTECODE, which made every
    # run compile the modules changed since the last install); the untimed warm-up run compiles it.
    env["PYTHONPYCACHEPREFIX"] = os.environ.get("PYTHONPYCACHEPREFIX", str(BENCH / "work" / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _time(cmd: list[str], env: dict[str, str], fresh_home: Path | None = None) -> float:
    if fresh_home is not None:
        shutil.rmtree(fresh_home, ignore_errors=True)
        fresh_home.mkdir(parents=True)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=WORK, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def _sample_file() -> Path:
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(36))
    target = WORK / "one.env"
    target.write_text(f"SLACK_BOT_TOKEN=xoxb-{body}\nDEBUG=false\n")
    return target


def measure(runs: int) -> list[tuple[str, list[float]]]:
    WORK.mkdir(parents=True, exist_ok=True)
    t = peers.tools()
    target = _sample_file()
    cold, warm = WORK / "cold-home", WORK / "warm-home"
    warm.mkdir(exist_ok=True)
    recorded = [str(t.tokenward), "scan", str(target), "-q"]
    scan = [*recorded, "--no-db"]
    _time(scan, _env(warm))  # fill the warm home's cache
    _time(recorded, _env(warm))  # and create its inventory
    rows = [
        ("tokenward --help", [_time([str(t.tokenward), "--help"], _env(warm)) for _ in range(runs)]),
        ("tokenward scan, cold HOME", [_time(scan, _env(cold), fresh_home=cold) for _ in range(runs)]),
        ("tokenward scan, warm", [_time(scan, _env(warm)) for _ in range(runs)]),
        ("tokenward scan recorded, cold HOME (new inventory)", [_time(recorded, _env(cold), fresh_home=cold)
                                                                for _ in range(runs)]),
        ("tokenward scan recorded, warm (existing inventory)", [_time(recorded, _env(warm)) for _ in range(runs)]),
        ("gitleaks dir", [_time([str(t.gitleaks), "dir", str(target), "--no-banner"], _env(warm))
                          for _ in range(runs)]),
        ("kingfisher scan", [_time([str(t.kingfisher), "scan", str(target), "--no-validate",
                                    "--no-update-check"], _env(warm)) for _ in range(runs)]),
    ]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    rows = measure(args.runs)
    print("| command | min s | median s | runs |")
    print("|---|---:|---:|---|")
    for name, times in rows:
        print(f"| {name} | {min(times):.2f} | {statistics.median(times):.2f} | "
              f"{', '.join(f'{x:.2f}' for x in times)} |")


if __name__ == "__main__":
    main()
