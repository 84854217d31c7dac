"""Rule-database speed on source code, and which expressions cost the most (issue 13).

    .venv/bin/python benchmarks/rule_db_speed.py [--runs 5]
    .venv/bin/python benchmarks/rule_db_speed.py --attribute [--group 32] [--drill 6] [--mb 30]

The corpus is built once into benchmarks/work/rule-db-corpus/: the files of redis and git/git at the
HEAD of their bare mirrors (/work/.mirror/redis+redis/repo, /work/.mirror/git+git/repo; `git archive`),
text files only (no NUL in the first 8 KiB), ≈ 60 MB. It is read into memory, one buffer per file.

The database is the one every scan uses: `scanner.scan_ruleset(load_rules())`, i.e. the rules'
expressions (gated rules as one caseless literal per distinct keyword, the others as whole patterns)
plus the decoding pass's candidate finders (expand/decode.py) in one Hyperscan database. Every
figure is single-threaded CPU time (time.process_time) of one block scan per file, the minimum of
--runs interleaved repeats, as MB/s of the corpus:

- real callback: `Matcher.hits` and the per-expression → per-rule regrouping, as the scanner runs them;
- no-op callback: a Python function that does nothing (the cost of Hyperscan calling into Python);
- no callback: Hyperscan alone (the automaton; the binding does not call into Python at all);
- one-literal database: the per-call floor (one Hyperscan call per file, nearly no automaton).

So automaton cost = no callback, callback cost = real − no callback. Confirmation (the rules' Python
regexes, checks) and decoding are not included: this is the Hyperscan pass only.

--attribute finds which expressions cost the most:

1. each expression's hits on the corpus (an expression that fires a hundred thousand times costs
   Python calls however fast the automaton is);
2. the database without each kind of expression (gated rules' keyword literals, provider / generic /
   structural whole patterns, decoding spellings, decoding run starts and gates);
3. the database without each group of --group consecutive expressions; the --drill costliest groups
   are then split into single expressions, each left out alone, and the 30 best are timed again over
   three literal-matcher layouts (printed, the top 20: time saved, hits, rule ids or decoding-finder
   kind, expression);
4. the top 5 left out together (savings overlap: the sum overstates).

Every candidate database is timed (no callback) alternately with the full one, and a saving is the
full database's minimum over the session minus the candidate's minimum. Read the first rounds' savings
under ~5 % with care: Hyperscan lays its literal matcher out anew for every set of expressions, and
leaving out one harmless literal moves the whole database's speed by a few per cent either way (even
negative "savings"); the confirmation round takes the median over three layouts (the database plus
a never-matching literal or not), which is stable to about 1 %. --mb limits the corpus (each
left-out database takes ≈ 2 s to compile; the whole attribution ≈ 20 minutes on the full corpus);
keep the machine otherwise idle, as shared caches move the figures too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import hyperscan  # noqa: E402

from tokenward.engine import Matcher, _by_rule  # noqa: E402
from tokenward.expand.decode import RUN, RUN_STARTS  # noqa: E402
from tokenward.expand.decode import expressions as decode_expressions  # noqa: E402
from tokenward.rules.compile import CompiledRuleSet  # noqa: E402
from tokenward.rules.spec import load_rules  # noqa: E402
from tokenward.scanner import scan_ruleset  # noqa: E402

CORPUS = HERE / "work" / "rule-db-corpus"
MIRRORS = Path("/work/.mirror")
SOURCES = (("redis", MIRRORS / "redis+redis" / "repo"), ("git", MIRRORS / "git+git" / "repo"))
Handler = Callable[[int, int, int, int, object], None] | None


def build_corpus(root: Path = CORPUS) -> None:
    """Extract each mirror's HEAD into root/<name> once, keeping text files only."""
    for name, repo in SOURCES:
        target = root / name
        if (target / ".complete").exists():
            continue
        target.mkdir(parents=True, exist_ok=True)
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True,
                                text=True).stdout.strip()
        archive = subprocess.run(["git", "-C", str(repo), "archive", commit], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
        for path in target.rglob("*"):
            if path.is_file() and not path.is_symlink() and b"\0" in path.read_bytes()[:8192]:
                path.unlink()
        (target / ".complete").write_text(commit + "\n")


def load_corpus(root: Path = CORPUS, limit: int = 0) -> list[bytes]:
    """The corpus files' bytes in path order; with limit, every k-th file (both trees, ≈ limit bytes)."""
    out: list[bytes] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink() or path.name == ".complete":
            continue
        data = path.read_bytes()
        if data and b"\0" not in data[:8192]:
            out.append(data)
    total = sum(map(len, out))
    if limit and total > limit:
        out = out[:: -(-total // limit)]
    return out


def scan_seconds(db: Any, files: Sequence[bytes], handler: Handler) -> float:
    """CPU seconds of one block scan of every file."""
    start = time.process_time()
    for data in files:
        db.scan(data, match_event_handler=handler)
    return time.process_time() - start


def real_seconds(matcher: Matcher, files: Sequence[bytes]) -> float:
    """CPU seconds of the scanner's own Hyperscan pass (callback and regrouping) over every file."""
    start = time.process_time()
    targets = matcher.ruleset.targets
    for data in files:
        _by_rule(matcher.hits(data), targets)  # the callback's hits, regrouped per rule as the scanner does
    return time.process_time() - start


def _noop(_id: int, _start: int, _end: int, _flags: int, _ctx: object) -> None:
    return None


@dataclass(frozen=True)
class Expr:
    """One expression of the scan database: pattern, flags, and what it stands for."""

    index: int
    pattern: bytes
    flags: int
    label: str


def describe(ruleset: CompiledRuleSet) -> list[Expr]:
    """Every expression of the scan database with a label: the rule ids it stands for, or its finder kind."""
    specs = [r.spec for r in ruleset.rules]
    finders = decode_expressions()
    out: list[Expr] = []
    # The rules' expressions, rebuilt exactly as compile_rules builds them.
    from tokenward.rules.compile import expressions

    exprs = expressions(specs)
    for i, (pattern, flags, targets) in enumerate(zip(exprs.patterns, exprs.flags, exprs.targets, strict=True)):
        ids = ",".join(specs[t].id for t in targets[:4]) + (f",+{len(targets) - 4}" if len(targets) > 4 else "")
        kind = "keyword" if specs[targets[0]].gated else "pattern"
        out.append(Expr(i, pattern, flags, f"{kind} {ids}"))
    starts = set(RUN_STARTS)
    for j, (pattern, flags, kind) in enumerate(finders):
        if kind != RUN:
            label = f"decode gate {'escapes' if kind == 1 else 'percents'}"
        elif pattern in starts:
            label = "decode run start"
        else:
            label = "decode keyword spelling"
        out.append(Expr(len(exprs.patterns) + j, pattern, flags, label))
    return out


def compile_db(exprs: Sequence[Expr]) -> Any:
    db = hyperscan.Database()
    db.compile(expressions=[e.pattern for e in exprs], ids=[e.index for e in exprs], elements=len(exprs),
               flags=[e.flags for e in exprs])
    return db


def hit_counts(db: Any, files: Sequence[bytes]) -> Counter[int]:
    """Callback hits per expression id on the corpus."""
    counts: Counter[int] = Counter()

    def on(expression: int, _start: int, _end: int, _flags: int, _ctx: object) -> None:
        counts[expression] += 1

    for data in files:
        db.scan(data, match_event_handler=on)
    return counts


def mbps(size: int, seconds: float) -> float:
    return size / 1e6 / seconds if seconds > 0 else float("inf")


def speed(ruleset: CompiledRuleSet, files: list[bytes], runs: int) -> None:
    size = sum(map(len, files))
    matcher = Matcher(ruleset)
    db = ruleset.database
    floor = compile_db([Expr(0, b"\\x00never\\x01", 0, "floor")])
    timings: dict[str, list[float]] = {"real": [], "noop": [], "none": [], "floor": []}
    for _ in range(runs):
        timings["real"].append(real_seconds(matcher, files))
        timings["noop"].append(scan_seconds(db, files, _noop))
        timings["none"].append(scan_seconds(db, files, None))
        timings["floor"].append(scan_seconds(floor, files, None))
    hits = sum(hit_counts(db, files).values())
    print(f"corpus: {len(files):,} files, {size / 1e6:.1f} MB; database: {len(ruleset.targets):,} rule expressions "
          f"+ {ruleset.extra:,} decoding finders; {hits:,} hits ({hits / (size / 1e6):,.0f}/MB); "
          f"load average {os.getloadavg()[0]:.2f}")
    for name, label in (("real", "real callback (Matcher.hits)"), ("noop", "no-op Python callback"),
                        ("none", "no callback (automaton)"), ("floor", "one-literal database (per-call floor)")):
        best = min(timings[name])
        print(f"  {label:38} {mbps(size, best):8.0f} MB/s  ({best:.3f} s, min of {runs})")


class Timer:
    """Interleaved timing against the full database: each candidate's runs alternate with the full
    database's, and a saving is the full database's minimum over the whole session minus the
    candidate's minimum (a noisy moment then hides a saving rather than invents one)."""

    def __init__(self, full: Any, files: list[bytes], runs: int) -> None:
        self.full, self.files, self.runs = full, files, runs
        self.base: list[float] = []

    def without(self, db: Any, runs: int = 0) -> float:
        """The candidate database's minimum seconds (the full one's are recorded alongside)."""
        best = float("inf")
        for _ in range(runs or self.runs):
            self.base.append(scan_seconds(self.full, self.files, None))
            best = min(best, scan_seconds(db, self.files, None))
        return best

    @property
    def best(self) -> float:
        return min(self.base)


# Never-matching literals (text holds no NUL): adding one makes Hyperscan lay its literal matcher out
# anew without changing what the database finds.
LAYOUTS = (None, b"\\x00zq7919w\\x01", b"\\x00zq15838w\\x01")


def _layouts(exprs: list[Expr]) -> list[Any]:
    return [compile_db(exprs + ([Expr(10**6, extra, 0, "layout")] if extra else [])) for extra in LAYOUTS]


def _confirm(timer: Timer, exprs: list[Expr], groups: list[list[int]], runs: int
             ) -> tuple[float, list[tuple[float, list[int]]]]:
    """The full database's and each group-less database's seconds as the median over LAYOUTS of the
    minimum of `runs` interleaved scans: a saving is then the expression's, not the layout's."""
    bases = _layouts(exprs)
    candidates = [(_layouts([e for e in exprs if e.index not in set(g)]), g) for g in groups]
    times: dict[int, list[float]] = {}
    for _ in range(runs):
        for n, (dbs, _g) in enumerate([(bases, []), *candidates]):
            for k, db in enumerate(dbs):
                times.setdefault(n * len(LAYOUTS) + k, []).append(scan_seconds(db, timer.files, None))
        print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    def median(n: int) -> float:
        return statistics.median(min(times[n * len(LAYOUTS) + k]) for k in range(len(LAYOUTS)))

    return median(0), [(median(n), g) for n, (_dbs, g) in enumerate(candidates, 1)]


def _leave_out(timer: Timer, exprs: list[Expr], groups: list[list[int]], runs: int = 0
               ) -> list[tuple[float, list[int]]]:
    """For each group of expression indices: the no-callback seconds of the database without it."""
    out: list[tuple[float, list[int]]] = []
    for n, group in enumerate(groups, 1):
        drop = set(group)
        out.append((timer.without(compile_db([e for e in exprs if e.index not in drop]), runs), group))
        print(f"\r  {n}/{len(groups)} left out", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return out


def _category(e: Expr, specs: dict[str, Any]) -> str:
    if e.label.startswith("decode"):
        return "decoding: keyword spellings" if e.label.endswith("spelling") else "decoding: run starts and gates"
    if e.label.startswith("keyword"):
        return "gated rules' keyword literals"
    spec = specs[e.label.split()[1].split(",")[0]]
    return {0: "generic rules (whole patterns)", 1: "structural rules (whole patterns)"}.get(
        spec.tier, "provider rules (whole patterns)")


def _saving(seconds: float, base: float) -> str:
    return f"{(base - seconds) * 1e3:6.1f} ms ({(base - seconds) / base:6.1%})"


def attribute(ruleset: CompiledRuleSet, files: list[bytes], group: int, drill: int, runs: int) -> None:
    size = sum(map(len, files))
    exprs = describe(ruleset)
    specs = {r.spec.id: r.spec for r in ruleset.rules}
    timer = Timer(ruleset.database, files, runs)
    counts = hit_counts(ruleset.database, files)
    print(f"corpus {len(files):,} files, {size / 1e6:.1f} MB; {len(exprs):,} expressions, "
          f"{sum(counts.values()):,} hits; load average {os.getloadavg()[0]:.2f}")

    print("\nTop 20 expressions by hits (each is a call into Python):")
    for index, n in counts.most_common(20):
        print(f"  {n:>9,}  #{index:<5} {exprs[index].label[:60]:60}  {exprs[index].pattern[:50]!r}")

    categories: dict[str, list[int]] = {}
    for e in exprs:
        categories.setdefault(_category(e, specs), []).append(e.index)
    by_category = _leave_out(timer, exprs, list(categories.values()))
    base = timer.best
    print(f"\nFull database {mbps(size, base):.0f} MB/s (no callback). Left out by kind:")
    for (seconds, members), name in zip(by_category, categories, strict=True):
        print(f"  {_saving(seconds, base)}  {name} ({len(members):,} expressions; "
              f"{mbps(size, seconds):.0f} MB/s without)")

    groups = [[e.index for e in exprs[i:i + group]] for i in range(0, len(exprs), group)]
    ranked = sorted(_leave_out(timer, exprs, groups))
    base = timer.best
    print(f"\nGroups of {group} whose removal saves the most:")
    for seconds, members in ranked[:10]:
        print(f"  {_saving(seconds, base)}  #{members[0]}-#{members[-1]}  "
              f"{exprs[members[0]].label[:40]} ... {exprs[members[-1]].label[:40]}")

    singles = [[i] for _seconds, members in ranked[:drill] for i in members]
    first = sorted(_leave_out(timer, exprs, singles))[:30]
    # The 30 best again, over three literal-matcher layouts: leaving out any one literal can move the
    # whole database's speed by a few per cent either way, which a single layout takes for a saving.
    base, confirmed = _confirm(timer, exprs, [m for _s, m in first], runs)
    confirmed.sort()
    print(f"\nTop 20 single expressions (of the {drill} costliest groups) by time saved when left out "
          f"(median over {len(LAYOUTS)} layouts; full database {base:.3f} s):")
    for seconds, (index,) in confirmed[:20]:
        e = exprs[index]
        print(f"  {_saving(seconds, base)}  hits {counts[index]:>7,}  #{index:<5} {e.label[:70]}\n"
              f"      {e.pattern[:150]!r}")
    top = [m[0] for seconds, m in confirmed[:5] if seconds < base]
    if top:
        base, ((together, _g),) = _confirm(timer, exprs, [top], runs)
        print(f"\nThe top {len(top)} left out together: {_saving(together, base)} "
              f"({mbps(size, base):.0f} → {mbps(size, together):.0f} MB/s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="repeats per measurement (the minimum is kept)")
    ap.add_argument("--attribute", action="store_true", help="find the costliest expressions")
    ap.add_argument("--group", type=int, default=32, help="expressions left out together (--attribute)")
    ap.add_argument("--drill", type=int, default=6, help="groups split into single expressions (--attribute)")
    ap.add_argument("--mb", type=int, default=0, help="use only the first MB of the corpus (0: all)")
    ap.add_argument("--corpus", type=Path, default=None,
                    help="a directory of files to use instead of the mirrors' HEAD (e.g. one language's sources)")
    args = ap.parse_args()
    if args.corpus is None:
        build_corpus()
    files = load_corpus(args.corpus or CORPUS, limit=args.mb << 20)
    ruleset = scan_ruleset(load_rules())
    if args.attribute:
        attribute(ruleset, files, args.group, args.drill, max(1, args.runs))
    else:
        speed(ruleset, files, max(1, args.runs))


if __name__ == "__main__":
    main()
