"""Git history benchmark: tokenward vs Kingfisher 2.14 vs gitleaks 8.30 vs the `git cat-file` floor.

    .venv/bin/python benchmarks/git_history.py [--commits N] [--bytes B] [--repeat R] [--skip-peers]
    .venv/bin/python benchmarks/git_history.py --repo PATH   # a real repository (e.g. redis/redis, git/git)

Builds (once, deterministically) a large repository with git_synth.py — or takes a real one with
--repo (no planted tokens then: recall is skipped; the rescan plants one) — installs the peers with
benchmarks/peers.py (pinned, into benchmarks/work/peers-venv), then measures, in interleaved
rounds, each tool's wall time, CPU time (user + sys of its process tree) and peak RSS (its largest
process, started from launch.py's small launcher), the recall of the planted tokens, and an incremental
rescan after one more commit. tokenward runs three times per round: in a fresh, empty HOME ("cold HOME",
as every CI job: no user cache and no incremental cache, the rule database next to the installed package
as `make` left it), as the machine's very first run ("first run": every rule cache empty, the package-side
one too, so the rule files are parsed and the Hyperscan database compiled inside the timed run),
and warm (cached rule set, `--full`). The floor's output goes to /dev/null. Prints a Markdown table and
writes benchmarks/work/git_history.json (or git_history-<name>.json with --repo).

--whole-blobs adds a row for `tokenward scan --whole-blobs` (every byte of every blob matched, no delta
windows). gitleaks' git mode walks `git log -p`; on a partial clone (the fetched mirrors are) git stops
at the first missing object and gitleaks still exits 0: each gitleaks line says how many commits it
got through, and its time is then not the same job.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import git_synth  # noqa: E402
from launch import measured  # noqa: E402
from tests.tokens import TokenFactory  # noqa: E402

WORK = HERE / "work"
KEY = "5e" * 32
TOKENWARD = [os.environ.get("TOKENWARD_BIN") or str(Path(sys.executable).parent / "tokenward")]


@dataclass
class Run:
    """One measured process."""

    name: str
    wall: float
    cpu: float
    rss_mb: float
    code: int


def measure(name: str, argv: list[str], env: dict[str, str] | None = None, discard: bool = False) -> Run:
    """Run argv from launch.py's small launcher: wall, CPU (user+sys, its process tree) and peak RSS (largest
    process; its own, not this script's)."""
    # Not /dev/null for the scanners: a tool writing its report there by rename replaces it. The
    # floor's output is discarded (writing 2-6 GB to a file would inflate it).
    with open(os.devnull if discard else WORK / "tool.log", "wb") as log:
        m = measured(argv, env=env, stdout=log, stderr=subprocess.DEVNULL if discard else log)
    return Run(name, m.wall, m.cpu, m.rss_mib, m.code)


def gitleaks_coverage() -> str:
    """What gitleaks' last run (its log in tool.log) says it covered: it walks `git log -p`, which stops
    at the first object a partial clone lacks ("fatal: unable to read …"), and then reports success
    for the commits it got through."""
    import re

    log = (WORK / "tool.log").read_bytes().decode("utf-8", "replace")
    scanned = re.search(r"(\d+) commits scanned", re.sub(r"\x1b\[[0-9;]*m", "", log))
    fatal = "fatal:" in log
    return (f"{'aborted by git: ' if fatal else ''}{scanned.group(1) if scanned else '?'} commits scanned")


def median(runs: list[Run]) -> Run:
    """The run with the median wall time."""
    return sorted(runs, key=lambda r: r.wall)[len(runs) // 2]


def ensure_peers() -> tuple[str, str]:
    """Kingfisher and gitleaks binaries from the shared peers venv (benchmarks/peers.py installs the pins)."""
    import peers

    found = peers.tools()
    return str(found.kingfisher), str(found.gitleaks)


def ensure_repo(plan: git_synth.Plan) -> tuple[Path, list[git_synth.Planted]]:
    """The benchmark repository for plan, built unless a previous run left it (stamp file)."""
    repo = WORK / "git" / f"bench-{plan.commits}-{plan.target_bytes}.git"
    stamp = repo.with_suffix(".json")
    if not stamp.exists():
        started = time.monotonic()
        planted = git_synth.build(repo, plan)
        stamp.write_text(json.dumps({"build_seconds": time.monotonic() - started,
                                     "planted": [asdict(p) for p in planted]}))
    return repo, [git_synth.Planted(**p) for p in json.loads(stamp.read_text())["planted"]]


def repo_stats(repo: Path) -> dict[str, int | str]:
    """The commit HEAD names (the snapshot measured), commits, refs, and the count and inflated size of blobs
    (and all objects)."""
    out = subprocess.run(["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--unordered",
                          "--batch-check=%(objecttype) %(objectsize)"], capture_output=True, check=True).stdout
    counts = {"commits": 0, "blobs": 0, "blob_bytes": 0, "objects": 0, "object_bytes": 0}
    for line in out.split(b"\n"):
        if line:
            kind, size = line.split()
            counts["objects"] += 1
            counts["object_bytes"] += int(size)
            counts["blobs"] += kind == b"blob"
            counts["blob_bytes"] += int(size) if kind == b"blob" else 0
            counts["commits"] += kind == b"commit"
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    refs = subprocess.run(["git", "-C", str(repo), "for-each-ref"], capture_output=True, check=True).stdout
    pack = sum(p.stat().st_size for p in (repo / "objects" / "pack").glob("*.pack"))
    return {"head": head.strip() or "(no HEAD)", **counts, "refs": len(refs.splitlines()), "pack_bytes": pack}


def tokenward_env() -> dict[str, str]:
    """The environment of a measured tokenward run: own caches (rule database kept warm), fixed key, and its
    bytecode cached (outside the source tree) as an installed CLI has it, even when the caller's environment
    sets PYTHONDONTWRITEBYTECODE (every run would compile the modules changed since the last install)."""
    env = dict(os.environ, TOKENWARD_KEY=KEY, TOKENWARD_CACHE_DIR=str(WORK / "tw-cache"),
               XDG_DATA_HOME=str(WORK / "xdg-data"), XDG_CACHE_HOME=str(WORK / "xdg-cache"),
               PYTHONPYCACHEPREFIX=os.environ.get("PYTHONPYCACHEPREFIX", str(WORK / "pycache")))
    env.pop("TOKENWARD_DB", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def cold_home_env() -> dict[str, str]:
    """tokenward_env in a fresh, empty HOME (every CI job): no user cache, no incremental cache; the rule
    database next to the installed package is used as `make` / the first run on the machine left it."""
    home = WORK / "cold-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    return dict(tokenward_env(), HOME=str(home), TOKENWARD_CACHE_DIR=str(home / ".cache" / "tokenward"),
                XDG_CACHE_HOME=str(home / ".cache"), XDG_DATA_HOME=str(home / ".local" / "share"))


def first_run_env() -> dict[str, str]:
    """tokenward_env with every cache empty, the package-side one too: the machine's very first run, which
    parses and compiles the rule set inside the timed run."""
    cold = WORK / "cold"
    shutil.rmtree(cold, ignore_errors=True)
    cold.mkdir(parents=True)
    return dict(tokenward_env(), TOKENWARD_COMPILED_CACHE=str(cold / "compiled"),
                TOKENWARD_CACHE_DIR=str(cold / "cache"), XDG_CACHE_HOME=str(cold / "xdg-cache"))


def tokenward_argv(repo: Path, report: Path, *extra: str) -> list[str]:
    """The tokenward command line for a scan written as JSON to report."""
    help_text = subprocess.run([*TOKENWARD, "scan", "--help"], capture_output=True, text=True).stdout
    no_db = ["--no-db"] if "--no-db" in help_text else []
    return [*TOKENWARD, "scan", str(repo), "-q", "-f", "json", "-o", str(report), *no_db, *extra]


def recall_tokenward(report: Path, planted: list[git_synth.Planted]) -> dict[str, object]:
    """Planted tokens tokenward found (by token id), and whether history-only ones were classified so."""
    sys.path.insert(0, str(ROOT / "src"))
    from tokenward.identity import Fingerprinter

    fp = Fingerprinter(bytes.fromhex(KEY))
    doc = json.loads(report.read_text())
    by_id: dict[str, list[dict[str, Any]]] = {}
    for f in doc["findings"]:
        by_id.setdefault(f["token_id"], []).append(f)
    found = [p for p in planted if fp.token_id(p.token.encode()) in by_id]
    right = 0
    for p in found:
        live = any(f["source"].get("git", {}).get("in_head") for f in by_id[fp.token_id(p.token.encode())])
        right += live == (p.fate != "history-only")
    return {"found": len(found), "planted": len(planted), "classified_right": right,
            "history_only_found": sum(1 for p in found if p.fate == "history-only"),
            "history_only_planted": sum(1 for p in planted if p.fate == "history-only")}


def recall_plaintext(report: Path, planted: list[git_synth.Planted]) -> dict[str, object]:
    """Planted tokens whose plaintext appears in a peer's report."""
    text = report.read_text(errors="replace") if report.exists() else ""
    found = [p for p in planted if p.token in text]
    return {"found": len(found), "planted": len(planted),
            "history_only_found": sum(1 for p in found if p.fate == "history-only")}


def add_commit(repo: Path, token: str) -> None:
    """One more commit on the default branch: a new settings file leaking token, and one edited source file."""
    git = ["git", "-C", str(repo)]
    branch = subprocess.run([*git, "symbolic-ref", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    head = subprocess.run([*git, "ls-tree", "-r", "--name-only", branch], capture_output=True,
                          text=True, check=True).stdout.split("\n")
    path = next((p for suffix in (".py", ".c", ".md") for p in head
                 if p.endswith(suffix) and not p.startswith("config/")), head[0])
    old = subprocess.run([*git, "cat-file", "blob", f"{branch}:{path}"], capture_output=True, check=True).stdout
    new_file = f'GITHUB_TOKEN = "{token}"\n'.encode()
    edited = old + b"\n# one more line\n"
    stream = (b"commit " + branch.encode() + b"\ncommitter Bench <bench@example.org> 1900000000 +0000\n"
              b"data 9\nrescan!!\nfrom " + branch.encode() + b"^0\n"
              + b"M 100644 inline config/rescan/settings.py\ndata %d\n" % len(new_file) + new_file + b"\n"
              + b"M 100644 inline " + path.encode() + b"\ndata %d\n" % len(edited) + edited + b"\n\n")
    subprocess.run([*git, "fast-import", "--quiet"], input=stream, check=True)


def rescan(repo: Path, token: str, full_run: Run) -> dict[str, object]:
    """Full scan of a local clone to fill the cache, one more commit, then the measured rescan."""
    clone, report = WORK / "git" / "rescan.git", WORK / "tw-rescan.json"
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", "--bare", "--local", str(repo), str(clone)], check=True)
    # The incremental cache is kept per repository path: a cache left by an earlier run would already know the
    # new commit's blobs (the same content each run) and the rescan would replay them instead of reading them.
    cache = WORK / "rescan-cache"
    shutil.rmtree(cache, ignore_errors=True)
    env = dict(tokenward_env(), TOKENWARD_CACHE_DIR=str(cache))
    seed = measure("tokenward (fill cache)", tokenward_argv(clone, report, "--full"), env)
    add_commit(clone, token)
    run = measure("tokenward rescan", tokenward_argv(clone, report), env)
    doc = json.loads(report.read_text())
    return {"seed": asdict(seed), "run": asdict(run), "blobs_read": doc["summary"]["blobs_scanned"],
            "scan_seconds": doc["summary"]["seconds"], "findings": doc["summary"]["findings"],
            "ratio_to_full": run.wall / full_run.wall,
            "new_token_found": any(f["preview"].endswith(token[-4:]) for f in doc["findings"])}


def fmt_table(runs: dict[str, Run], floor: Run, kf: Run | None) -> str:
    """The Markdown table of the measurements."""
    rows = ["| tool | wall s | CPU s | peak RSS MB | wall / floor | wall / Kingfisher | RSS / Kingfisher |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for run in runs.values():
        vs_kf = f"{run.wall / kf.wall:.2f}" if kf else "–"
        rss_kf = f"{run.rss_mb / kf.rss_mb:.2f}" if kf else "–"
        rows.append(f"| {run.name} | {run.wall:.1f} | {run.cpu:.1f} | {run.rss_mb:.0f} | "
                    f"{run.wall / floor.wall:.2f} | {vs_kf} | {rss_kf} |")
    return "\n".join(rows)


def paired(rounds: dict[str, list[Run]]) -> dict[str, list[float]]:
    """tokenward's wall-time ratios within each round (load drifts less within a round than across)."""
    tw = rounds["tokenward"]
    out = {"tokenward / floor": [t.wall / f.wall for t, f in zip(tw, rounds["git cat-file floor"], strict=True)]}
    if "Kingfisher 2.14" in rounds:
        out["tokenward / Kingfisher"] = [t.wall / k.wall for t, k in zip(tw, rounds["Kingfisher 2.14"], strict=True)]
        out["tokenward RSS / Kingfisher"] = [t.rss_mb / k.rss_mb for t, k in zip(tw, rounds["Kingfisher 2.14"],
                                                                                  strict=True)]
    return {k: [round(x, 2) for x in v] for k, v in out.items()}


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return {"date": time.strftime("%Y-%m-%d"), "commit": commit, "cpus": str(os.cpu_count()),
            "python": platform.python_version(), "git": git_version, "platform": platform.platform(),
            "load_before": " ".join(f"{x:.1f}" for x in os.getloadavg())}


def scan_runs(repo: Path, repeat: int, peers: tuple[str, str] | None, whole: bool = False) -> dict[str, list[Run]]:
    """Every measured full scan, the tools interleaved so that load drift hits them alike."""
    runs: dict[str, list[Run]] = {}
    floor_argv = ["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--batch", "--unordered"]
    for _ in range(repeat):
        todo = [("git cat-file floor", floor_argv, None),  # --full: every blob read, the whole history walked
                ("tokenward first run", tokenward_argv(repo, WORK / "tw-first.json", "--full"), first_run_env()),
                ("tokenward cold HOME", tokenward_argv(repo, WORK / "tw-cold.json"), cold_home_env()),
                ("tokenward", tokenward_argv(repo, WORK / "tw.json", "--full"), tokenward_env())]
        if whole:  # the same scan matching every byte of every blob (no delta windows)
            todo.append(("tokenward --whole-blobs", tokenward_argv(repo, WORK / "tw-whole.json", "--full",
                                                                   "--whole-blobs"), tokenward_env()))
        if peers:
            todo += [("Kingfisher 2.14", [peers[0], "scan", "--no-validate", "--no-update-check", str(repo),
                                          "--format", "json", "--output", str(WORK / "kf.json")], None),
                     ("gitleaks 8.30", [peers[1], "git", str(repo), "--no-banner", "--exit-code", "0",
                                        "-f", "json", "-r", str(WORK / "gl.json")], None)]
        for name, argv, env in todo:
            run = measure(name, argv, env, discard=name == "git cat-file floor")
            note = f" ({gitleaks_coverage()})" if name.startswith("gitleaks") else ""
            print(f"  {name}: {run.wall:.1f}s wall, {run.cpu:.1f}s CPU, {run.rss_mb:.0f} MB{note}", flush=True)
            runs.setdefault(name, []).append(run)
    return runs


def main() -> None:
    """Build, measure, report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--commits", type=int, default=git_synth.Plan.commits)
    ap.add_argument("--bytes", type=int, default=git_synth.Plan.target_bytes)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--repo", type=Path, help="a real repository to scan instead of the synthetic one")
    ap.add_argument("--no-rescan", action="store_true", help="skip the rescan after one more commit")
    ap.add_argument("--whole-blobs", action="store_true",
                    help="also time tokenward --whole-blobs (every byte matched, no delta windows)")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    info = machine()
    if args.repo:
        repo, planted = args.repo.resolve(), []
        info["head"] = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                                      text=True).stdout.strip()
    else:
        repo, planted = ensure_repo(git_synth.Plan(commits=args.commits, target_bytes=args.bytes))
    stats = repo_stats(repo)
    print(f"repository {repo.name}: {stats}", flush=True)
    peers = None if args.skip_peers else ensure_peers()
    measure("warm page cache", ["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--batch", "--unordered"])
    empty = WORK / "empty"
    empty.mkdir(exist_ok=True)
    measure("warm rule cache", tokenward_argv(empty, WORK / "warm.json"), tokenward_env())  # and bytecode
    rounds = scan_runs(repo, args.repeat, peers, args.whole_blobs)
    runs = {name: median(rs) for name, rs in rounds.items()}
    floor, tw, kf = runs["git cat-file floor"], runs["tokenward"], runs.get("Kingfisher 2.14")
    recall: dict[str, object] = {}
    again: dict[str, object] = {}
    if planted:
        recall["tokenward"] = recall_tokenward(WORK / "tw.json", planted)
        if peers:
            recall["Kingfisher 2.14"] = recall_plaintext(WORK / "kf.json", planted)
            recall["gitleaks 8.30"] = recall_plaintext(WORK / "gl.json", planted)
    if not args.no_rescan:
        again = rescan(repo, TokenFactory(4242).crc_base62("ghp_"), tw)
    table = fmt_table(runs, floor, kf)
    summary = json.loads((WORK / "tw.json").read_text()).get("summary", {})  # the last warm run's own counts
    result = {"machine": info, "repository": stats, "runs": {k: asdict(v) for k, v in runs.items()},
              "rounds": {k: [asdict(r) for r in rs] for k, rs in rounds.items()},
              "paired_ratios": paired(rounds), "recall": recall, "rescan": again, "table": table,
              "tokenward_summary": summary}
    label = repo.parent.name if repo.name == "repo" else repo.stem  # fetch mirrors end in <owner+name>/repo
    out = f"git_history-{label}.json" if args.repo else "git_history.json"
    (WORK / out).write_text(json.dumps(result, indent=2))
    print(table)
    print(json.dumps({"paired_ratios": result["paired_ratios"], "recall": recall, "rescan": again,
                      "tokenward history counters": summary.get("history", {})}, indent=2))


if __name__ == "__main__":
    main()
