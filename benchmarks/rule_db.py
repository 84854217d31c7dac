"""Rule-database micro-benchmark: MB/s of the Hyperscan pass alone, for the whole rule set and by tier.

    .venv/bin/python benchmarks/rule_db.py [--tree DIR] [--mb 200]

Reads up to --mb of text files from the tree (default: the throughput benchmark's tree, built by
benchmarks/throughput.py) into memory, then times, single-threaded, one Hyperscan block scan of every
file with a callback that only counts (no confirmation regex, no Python per hit beyond the count):

- the full database as tokenward builds it (gated rules as keyword literals, others whole);
- generic + structural rules only (whole patterns);
- provider rules with whole patterns only (the ones whose keywords are too common to gate on);
- gated provider rules only (their keyword literals).

MB/s counts the bytes scanned; hits/MB says how often Python is called back. The rule database
must not slow down as the rule set grows: that is what this measures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from tokenward.rules.compile import build_database  # noqa: E402
from tokenward.rules.spec import RuleSpec, load_rules  # noqa: E402


def corpus(tree: Path, limit: int) -> list[bytes]:
    """Text files of the tree (no NUL in the first 8 KiB), up to limit bytes in all."""
    out: list[bytes] = []
    total = 0
    for root, _dirs, files in os.walk(tree):
        for name in files:
            try:
                data = (Path(root) / name).read_bytes()
            except OSError:
                continue
            if b"\0" in data[:8192]:
                continue
            out.append(data)
            total += len(data)
            if total >= limit:
                return out
    return out


def timed(specs: list[RuleSpec], files: list[bytes]) -> tuple[float, int]:
    """Seconds of one scan of every file, and the number of match callbacks."""
    db = build_database(specs, cache=False)
    hits = [0]

    def on(_id: int, _start: int, _end: int, _flags: int, _ctx: object) -> None:
        hits[0] += 1

    start = time.process_time()
    for data in files:
        db.scan(data, match_event_handler=on)
    return time.process_time() - start, hits[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tree", type=Path, default=HERE / "work" / "tree")
    ap.add_argument("--mb", type=int, default=200)
    args = ap.parse_args()
    files = corpus(args.tree, args.mb << 20)
    size = sum(map(len, files)) / 1e6
    specs = load_rules()
    sets = {
        "full database": specs,
        "generic + structural (whole patterns)": [s for s in specs if s.tier < 2],
        "provider, whole patterns (common keywords)": [s for s in specs if s.tier == 2 and not s.gated],
        "provider, gated (keyword literals)": [s for s in specs if s.tier == 2 and s.gated],
        "all provider rules as whole patterns": [replace(s, gated=False) for s in specs if s.tier == 2],
    }
    print(f"{len(files)} files, {size:.0f} MB, {len(specs)} rules\n")
    print("| rule set | rules | CPU s | MB/s | hits per MB |")
    print("|---|---:|---:|---:|---:|")
    for name, subset in sets.items():
        try:
            secs, hits = timed(subset, files)
        except Exception as exc:  # e.g. a pattern only valid for the Python side (gated rules)
            print(f"| {name} | {len(subset)} | – | – | {type(exc).__name__} |")
            continue
        print(f"| {name} | {len(subset)} | {secs:.2f} | {size / secs:.0f} | {hits / size:.1f} |")


if __name__ == "__main__":
    main()
