"""Throughput benchmark: tokenward vs gitleaks `dir` and Kingfisher on source trees.

    python benchmarks/throughput.py [--tree source,mixed,text] [--runs 3] [--rebuild] [--site-packages DIR]
                                    [--keep-binary] [--tools ...] [--profile]

Three trees, each copied once from the installed Python standard library (without its site-packages
and __pycache__) followed by a site-packages directory (default: the interpreter's own, beside the
stdlib), walked in sorted order, so every tool sees exactly the same regular files (no symlinks, no
.git); --rebuild copies them again:

- `source` (the default; benchmarks/work/tree, 239 MB here): every text file of both. Binary files
  (a NUL byte in the first 8 KiB: shared objects, executables, static libraries) are left out unless
  --keep-binary: it is a source tree, and the tools' different binary policies would otherwise
  dominate the comparison. The README's history is measured on it.
- `mixed` (benchmarks/work/tree-mixed): the first 170 MB of files in walk order, binary files kept
  (the stdlib's shared objects, static library, test archives and images, then site-packages): the
  issue's "170 MB mixed tree", where skipping binaries cheaply and opening archives count.
- `text` (benchmarks/work/tree-text): the first 55 MB of text files in walk order (the whole stdlib,
  then the first packages): the issue's "55 MB text-only tree", where start-up weighs more.

tokenward runs three times per round: as a user runs it the first time (`tokenward`: the scan recorded
into a new inventory every run, so creating it is measured too), as a user runs it again
(`tokenward-inventory`: recorded into the inventory its untimed first run created, kept across the
rounds) and with --no-db (`tokenward-no-db`: nothing recorded, the work the peers do, which keep no
inventory).

--tree takes several, comma-separated; each gets its own table. For each tree, the page cache is
warmed by one untimed read of every file, each tool first runs once untimed (each tool's
compiled-rule cache warm, report statistics collected), then the timed runs are interleaved
round-robin; the table shows the median wall time, CPU time and peak RSS, and the ratio of each
peer's median wall time to tokenward's (> 1 means tokenward is faster).

--profile additionally times each pipeline stage (walk, read, sniff, Hyperscan, confirmation,
findings, inventory, JSON) in CPU seconds in one single-process tokenward run over each tree.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import peers  # noqa: E402
from launch import measured  # noqa: E402

TOOLS = ("tokenward", "tokenward-inventory", "tokenward-no-db", "gitleaks", "kingfisher")


@dataclass(frozen=True)
class Sample:
    """One timed run."""

    wall: float
    cpu: float
    rss_mib: float
    code: int


# --- the tree --------------------------------------------------------------------------------------


def default_site_packages() -> Path:
    """The installed interpreter's own site-packages (beside its stdlib), else the work tree's .venv."""
    own = Path(sysconfig.get_paths()["stdlib"]) / "site-packages"
    if own.is_dir() and any(own.iterdir()):
        return own
    found = sorted((ROOT / ".venv").glob("lib/python3*/site-packages"))
    return found[0] if found else Path(sysconfig.get_paths()["purelib"])


def _is_binary(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return b"\x00" in fh.read(8192)
    except OSError:
        return True


def _ignorer(keep_binary: bool):  # type: ignore[no-untyped-def]
    skip = {"__pycache__", "site-packages", ".git"}

    def ignore(src: str, names: list[str]) -> set[str]:
        out = set()
        for n in names:
            path = os.path.join(src, n)
            if n in skip or os.path.islink(path) or (not keep_binary and os.path.isfile(path) and _is_binary(path)):
                out.add(n)
        return out

    return ignore


@dataclass(frozen=True)
class TreeKind:
    """Which files of stdlib + site-packages a benchmark tree holds."""

    directory: str  # under benchmarks/work
    keep_binary: bool
    budget_mb: int | None  # the first so many MB of files in walk order; None: all of them


TREES = {
    "source": TreeKind("tree", False, None),
    "mixed": TreeKind("tree-mixed", True, 170),
    "text": TreeKind("tree-text", False, 55),
}


def build_tree(site_packages: Path, rebuild: bool, keep_binary: bool = False, kind: str = "source") -> Path:
    """Copy the files of one tree kind into benchmarks/work/<dir> (once; --rebuild to redo)."""
    spec = TREES[kind]
    tree = BENCH / "work" / spec.directory
    keep_binary = keep_binary or spec.keep_binary
    marker = tree / ".complete"
    wanted = {
        "stdlib": str(Path(sysconfig.get_paths()["stdlib"])),
        "site_packages": str(site_packages),
        "keep_binary": keep_binary,
    }
    if spec.budget_mb is not None:
        wanted["budget_mb"] = spec.budget_mb
    if marker.exists() and not rebuild and json.loads(marker.read_text()) == wanted:
        return tree
    if tree.exists():
        shutil.rmtree(tree)
    print(f"copying {wanted['stdlib']} and {site_packages} into {tree} …", file=sys.stderr)
    if spec.budget_mb is None:
        shutil.copytree(wanted["stdlib"], tree / "stdlib", ignore=_ignorer(keep_binary), symlinks=True)
        shutil.copytree(site_packages, tree / "site-packages", ignore=_ignorer(keep_binary), symlinks=True)
    else:
        _copy_budget(tree, [(Path(wanted["stdlib"]), "stdlib"), (site_packages, "site-packages")],
                     keep_binary, spec.budget_mb * 1_000_000)
    marker.write_text(json.dumps(wanted))
    return tree


def _walk_sorted(top: Path, keep_binary: bool) -> Iterator[Path]:
    """The regular files under top that a tree keeps, in sorted walk order (what _ignorer keeps)."""
    ignore = _ignorer(keep_binary)
    for dirpath, dirs, names in os.walk(top):
        skipped = ignore(dirpath, sorted(dirs + names))
        dirs[:] = sorted(d for d in dirs if d not in skipped)
        for name in sorted(n for n in names if n not in skipped):
            path = Path(dirpath, name)
            if path.is_file():
                yield path


def _copy_budget(tree: Path, sources: list[tuple[Path, str]], keep_binary: bool, budget: int) -> None:
    """Copy files in walk order until the next one would exceed `budget` bytes."""
    total = 0
    for top, name in sources:
        for path in _walk_sorted(top, keep_binary):
            size = path.stat().st_size
            if total + size > budget:
                return
            dest = tree / name / path.relative_to(top)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
            total += size


def tree_stats(tree: Path) -> dict[str, int]:
    """Files, bytes, and how many files look binary (NUL in the first 8 KiB); reads every file once."""
    files = size = binary = 0
    for dirpath, _dirs, names in os.walk(tree):
        for name in names:
            if name == ".complete":
                continue
            path = os.path.join(dirpath, name)
            with open(path, "rb") as fh:
                head = fh.read(8192)
                rest = len(head)
                while chunk := fh.read(1 << 20):  # the untimed read that warms the page cache
                    rest += len(chunk)
            files += 1
            size += rest
            binary += b"\x00" in head
    return {"files": files, "bytes": size, "binary_files": binary}


# --- running ---------------------------------------------------------------------------------------


def commands(t: peers.Tools, tree: Path, out: str) -> dict[str, list[str]]:
    """The measured command of each tool; `out` is where the report goes."""
    return {
        "tokenward": [str(t.tokenward), "scan", str(tree), "-f", "json", "-o", out, "-q"],
        # Recorded into an inventory that already holds this tree's earlier scans (measure() creates it anew
        # for each tree, in the untimed first run): the steady state of a scheduled scan.
        "tokenward-inventory": [str(t.tokenward), "scan", str(tree), "-f", "json", "-o", out, "-q",
                                "--db", str(KEPT_INVENTORY)],
        # The same scan without recording it in the inventory: the work the peers do (they keep none).
        "tokenward-no-db": [str(t.tokenward), "scan", str(tree), "-f", "json", "-o", out, "-q", "--no-db"],
        "gitleaks": [
            str(t.gitleaks),
            "dir",
            str(tree),
            "-f",
            "json",
            "-r",
            out,
            "--no-banner",
            "--exit-code",
            "0",
            "-l",
            "warn",
        ],
        "kingfisher": [
            str(t.kingfisher),
            "scan",
            str(tree),
            "--git-history",
            "none",
            "--no-validate",
            "--no-update-check",
            "-f",
            "json",
            "-o",
            out,
        ],
    }


OK_CODES = {"tokenward": {0, 1, 3}, "tokenward-inventory": {0, 1, 3}, "tokenward-no-db": {0, 1, 3},
            "gitleaks": {0, 1}, "kingfisher": {0, 200, 205}}
INVENTORY = BENCH / "work" / "throughput-inventory.sqlite"
KEPT_INVENTORY = BENCH / "work" / "throughput-kept-inventory.sqlite"


def _env() -> dict[str, str]:
    # tokenward records each scan in its inventory by default; keep benchmark scans out of the
    # user's inventory (the recording cost is still measured, into a new inventory every run: a first
    # scan's cost, migrations included; the `tokenward-no-db` row records nothing, as the peers).
    INVENTORY.unlink(missing_ok=True)
    # Bytecode cached (outside the source tree) as an installed CLI has it, even when the caller's environment
    # sets PYTHONDONTWRITEBYTECODE; the untimed run before the timed ones compiles it.
    env = {**os.environ, "NO_COLOR": "1", "TOKENWARD_DB": str(INVENTORY),
           "PYTHONPYCACHEPREFIX": os.environ.get("PYTHONPYCACHEPREFIX", str(BENCH / "work" / "pycache"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed(cmd: list[str]) -> tuple[Sample, str]:
    """Run cmd, return wall/CPU/peak-RSS of it and its waited-for children (launch.py: its own RSS, not this
    script's) plus stderr."""
    with tempfile.TemporaryFile() as err:
        # cwd = benchmarks/work: tokenward reads ./.tokenward.yaml; the repository's own one must not apply
        m = measured(cmd, env=_env(), cwd=BENCH / "work", stdout=subprocess.DEVNULL, stderr=err)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return Sample(m.wall, m.cpu, m.rss_mib, m.code), stderr


def warm_up(tool: str, cmd_json: list[str], report: Path) -> dict[str, object]:
    """The untimed first run; returns what the tool says it scanned and found."""
    sample, stderr = timed(cmd_json)
    info: dict[str, object] = {"wall_cold": round(sample.wall, 2), "exit": sample.code}
    if sample.code not in OK_CODES[tool]:
        info["error"] = stderr.strip().splitlines()[-3:]
        return info
    try:
        data = json.loads(report.read_text() or "null")
    except (OSError, ValueError):
        data = None
    if tool.startswith("tokenward") and isinstance(data, dict):
        s = data["summary"]
        info.update(findings=s["findings"], blobs=s["blobs_scanned"], bytes=s["bytes_scanned"], skipped=s["skipped"])
    elif tool == "gitleaks" and isinstance(data, list):
        info.update(findings=len(data))
        info["log"] = [ln for ln in stderr.splitlines() if "scanned" in ln][-1:]
    elif tool == "kingfisher" and isinstance(data, dict):
        meta = data.get("metadata", {}).get("summary", {})
        info.update(findings=meta.get("findings"), blobs=meta.get("blobs_scanned"), bytes=meta.get("bytes_scanned"))
    return info


def measure(
    t: peers.Tools, tree: Path, tools: list[str], runs: int
) -> tuple[dict[str, list[Sample]], dict[str, object]]:
    """Warm-up run of each tool, then `runs` interleaved timed runs."""
    info: dict[str, object] = {}
    for suffix in ("", "-wal", "-shm"):  # this tree's own: the untimed first run creates it
        Path(f"{KEPT_INVENTORY}{suffix}").unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(dir=BENCH / "work") as tmp:
        for tool in tools:
            report = Path(tmp) / f"{tool}.json"
            print(f"warm-up: {tool} …", file=sys.stderr)
            info[tool] = warm_up(tool, commands(t, tree, str(report))[tool], report)
            report.unlink(missing_ok=True)
    samples: dict[str, list[Sample]] = {tool: [] for tool in tools}
    # Not /dev/null: a tool that writes its report by rename would replace the device node.
    timed_cmds = commands(t, tree, str(BENCH / "work" / "timed-report.json"))
    for i in range(runs):
        for tool in tools:
            sample, stderr = timed(timed_cmds[tool])
            if sample.code not in OK_CODES[tool]:
                raise SystemExit(f"{tool} failed (exit {sample.code}): {stderr.strip()[-500:]}")
            samples[tool].append(sample)
            print(
                f"run {i + 1}/{runs} {tool}: {sample.wall:.2f}s wall, {sample.cpu:.2f}s CPU, {sample.rss_mib:.0f} MiB",
                file=sys.stderr,
            )
    return samples, info


def table(samples: dict[str, list[Sample]], total_bytes: int) -> list[str]:
    """Markdown table of medians and ratios."""
    med = {
        tool: Sample(
            statistics.median(s.wall for s in ss),
            statistics.median(s.cpu for s in ss),
            statistics.median(s.rss_mib for s in ss),
            0,
        )
        for tool, ss in samples.items()
    }
    base = med.get("tokenward")
    out = [
        "| tool | wall s (median) | CPU s | peak RSS MiB | MB/s (wall) | wall ÷ tokenward wall | all wall runs s |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for tool, m in med.items():
        ratio = f"{m.wall / base.wall:.2f}" if base else "–"
        runs = ", ".join(f"{s.wall:.2f}" for s in samples[tool])
        out.append(
            f"| {tool} | {m.wall:.2f} | {m.cpu:.2f} | {m.rss_mib:.0f} | {total_bytes / 1e6 / m.wall:.1f} | "
            f"{ratio} | {runs} |"
        )
    return out


# --- profiling -------------------------------------------------------------------------------------

# Stage timing: the profiled run (one process, workers forced to 1) wraps the function that bounds
# each stage with a CPU-time accumulator (generators are timed per step), so the figures are CPU
# seconds, unaffected by other load on the machine and without a profiler's per-call overhead.
# (module, attribute path, label); stages nest as the indentation shows.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("tokenward.cli.common", "load_rules", "load rule files (YAML + pydantic)"),
    ("tokenward.cli.common", "scan_ruleset", "compile rules (regex, checks, Hyperscan DB from cache)"),
    ("tokenward.sources.filesystem", "FilesystemSource._files", "directory walk (scandir, d_type, excludes)"),
    ("tokenward.scanner", "Scanner.scan_items", "scan_items: read + expand + match + findings, per batch"),
    ("tokenward.sources.filesystem", "read_file", "  file reading (open, read, binary sniff)"),
    ("tokenward.scanner", "sniff", "  format sniff of the files matched as read (plain text)"),
    ("tokenward.scanner", "expand", "  expand() (the other formats: expanders)"),
    ("tokenward.engine", "Matcher.hits", "  Hyperscan scan + Python match callbacks"),
    ("tokenward.engine", "_confirm", "  confirmation regex + checks"),
    ("tokenward.scanner", "inner_blobs", "  decoding the encoded runs found by that pass"),
    ("tokenward.scanner", "make_finding", "  make_finding (fingerprint, locate, preview)"),
    ("tokenward.cli.recording", "open_recorder", "inventory: import tokenward.store (SQLAlchemy) + open"),
    ("tokenward.cli.recording", "record", "inventory: record the scan"),
    ("REPORT", "json", "JSON report"),
)

PROFILE_WORKER = r"""
import functools, importlib, inspect, json, sys, time
acc = {}
t0 = time.process_time()
import tokenward.scanner
tokenward.scanner.MAX_JOBS = 1  # every stage in this one process
import tokenward.cli.recording
tokenward.cli.recording.CAN_FORK = False  # the inventory is written in this process too
from tokenward.cli.main import app
t_import = time.process_time() - t0
STAGES = STAGES_LITERAL


def timed(fn, label):
    def gen(g):
        while True:
            t = time.process_time()
            try:
                item = next(g)
            except StopIteration:
                acc[label] = acc.get(label, 0.0) + time.process_time() - t
                return
            acc[label] = acc.get(label, 0.0) + time.process_time() - t
            yield item

    @functools.wraps(fn)
    def wrapper(*a, **k):
        t = time.process_time()
        try:
            out = fn(*a, **k)
        finally:
            acc[label] = acc.get(label, 0.0) + time.process_time() - t
        return gen(out) if inspect.isgenerator(out) else out
    return wrapper


def patch(owner, attr, label):
    setattr(owner, attr, timed(getattr(owner, attr), label))


for mod, path, label in STAGES:
    try:
        if mod == "REPORT":
            import tokenward.report as rep
            rep.REPORTERS[path] = timed(rep.REPORTERS[path], label)
            continue
        owner = importlib.import_module(mod)
        *parents, attr = path.split(".")
        for p in parents:
            owner = getattr(owner, p)
        patch(owner, attr, label)
    except (ImportError, AttributeError, KeyError):
        acc[label] = None

sys.argv = ["tokenward", "scan", sys.argv[1], "-f", "json", "-o", "/dev/null", "-q"]
try:
    app()
except SystemExit:
    pass
sys.stderr.write("STAGES " + json.dumps({"import": t_import, "total": time.process_time() - t0, "acc": acc}) + "\n")
"""


def profile(t: peers.Tools, tree: Path) -> list[str]:
    """Time each pipeline stage (CPU seconds) in one single-process tokenward run."""
    python = t.tokenward.parent / "python"
    code = PROFILE_WORKER.replace("STAGES_LITERAL", repr(STAGES))
    wall = time.perf_counter()
    res = subprocess.run(
        [str(python), "-c", code, str(tree)], capture_output=True, text=True, env=_env(), cwd=BENCH / "work"
    )
    wall = time.perf_counter() - wall
    found = [ln[7:] for ln in res.stderr.splitlines() if ln.startswith("STAGES ")]
    if not found:
        return [f"stage timing failed: {res.stderr.strip()[-600:]}"]
    data = json.loads(found[-1])
    total, acc = data["total"], data["acc"]
    lines = [
        f"Stage CPU time, one process (workers forced to 1): {total:.2f} CPU s in total "
        f"({wall:.2f} s wall for this run):",
        "",
        "| stage (indented rows run inside the row above) | CPU s | share |",
        "|---|---:|---:|",
        f"| import tokenward.cli.main (Python start-up excluded) | {data['import']:.2f} | "
        f"{100 * data['import'] / total:.1f}% |",
    ]
    for _mod, _path, label in STAGES:
        secs = acc.get(label)
        cell = "n/a | " if secs is None else f"{secs:.2f} | {100 * secs / total:.1f}%"
        lines.append(f"| {label.replace('  ', '&nbsp;&nbsp;')} | {cell} |")
    return lines


def run_tree(t: peers.Tools, tree: Path, tools: list[str], args: argparse.Namespace) -> list[str]:
    """Measure every tool on one tree; the markdown lines of its report."""
    stats = tree_stats(tree)
    samples, info = measure(t, tree, tools, args.runs)
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    versions = peers.versions(t)
    lines = [
        f"Throughput run {dt.date.today().isoformat()}, commit {commit}, {os.cpu_count()} CPUs: "
        f"{stats['files']} files, {stats['bytes'] / 1e6:.1f} MB ({stats['binary_files']} binary) in {tree}",
        "Versions: " + "; ".join(f"{k} = {v}" for k, v in versions.items() if k in tools),
        "",
        *table(samples, stats["bytes"]),
        "",
        "Untimed first run (what each tool reports it scanned):",
        "",
    ]
    lines += [f"- {tool}: {json.dumps(i)}" for tool, i in info.items()]
    if args.profile:
        lines += ["", *profile(t, tree)]
    return lines


def main() -> None:
    """Build, measure, print."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", default="source", help=f"comma-separated, of {', '.join(TREES)}")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rebuild", action="store_true", help="copy the trees again")
    ap.add_argument("--site-packages", type=Path, default=None)
    ap.add_argument("--keep-binary", action="store_true", help="also copy binary files into the source tree")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--profile", action="store_true", help="also time the stages of one tokenward run")
    args = ap.parse_args()
    tools = [x for x in args.tools.split(",") if x]
    kinds = [k for k in args.tree.split(",") if k]
    if unknown := [k for k in kinds if k not in TREES]:
        ap.error(f"unknown tree {', '.join(unknown)} (known: {', '.join(TREES)})")
    t = peers.tools(install=True)
    site_packages = args.site_packages or default_site_packages()
    out: list[str] = []
    for kind in kinds:
        tree = build_tree(site_packages, args.rebuild, args.keep_binary and kind == "source", kind)
        out += [f"### Tree `{kind}`", "", *run_tree(t, tree, tools, args), ""]
    print("\n".join(out))
    (BENCH / "work" / "throughput.md").write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
