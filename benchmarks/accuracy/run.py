"""Accuracy benchmark: tokenward vs gitleaks, Kingfisher, detect-secrets and CredSweeper on one labelled set.

    python benchmarks/accuracy/run.py [--seed 2024] [--files 900] [--tools tokenward,gitleaks,...]
                                      [--no-generate] [--details]

1. generates the evaluation set (benchmarks/work/accuracy/{corpus,manifest.json}, deterministic seed),
2. installs the peers from PyPI if missing (benchmarks/peers.py),
3. runs every tool on the same corpus, scores them (benchmarks/accuracy/score.py) and prints
   markdown tables: overall, recall and precision per family, false positives by look-alike kind,
   and tokenward's misses and false positives (file:line and rule, never the value).
Results (no plaintext) go to benchmarks/work/accuracy/results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV_PY = ROOT / ".venv" / "bin" / "python"

if importlib.util.find_spec("tokenward") is None and VENV_PY.exists() and Path(sys.executable) != VENV_PY:
    os.execv(str(VENV_PY), [str(VENV_PY), *sys.argv])  # the generator reuses tests/tokens.py → tokenward

sys.path[:0] = [str(HERE), str(ROOT), str(HERE.parent)]

import generate  # noqa: E402
import peers  # noqa: E402
from adapters import ADAPTERS, ToolRun  # noqa: E402
from score import FAMILIES, ToolScore, family_sizes, prf, score  # noqa: E402

WORK = HERE.parent / "work" / "accuracy"
TOOLS = tuple(ADAPTERS)


def _binary(t: peers.Tools, tool: str) -> Path:
    return {
        "tokenward": t.tokenward,
        "gitleaks": t.gitleaks,
        "kingfisher": t.kingfisher,
        "detect-secrets": t.detect_secrets,
        "credsweeper": t.credsweeper,
    }[tool]


def _pct(x: float) -> str:
    return f"{x:.3f}"


def overall_table(manifest: dict[str, Any], scores: list[ToolScore]) -> list[str]:
    n = len(manifest["positives"])
    out = ["| tool | TP | FP | FN | precision | recall | F1 | wall s |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for s in scores:
        tp, fp = s.totals()
        p, r, f1 = prf(tp, fp, n)
        note = f" (failed: {s.error})" if s.error else ""
        out.append(
            f"| {s.tool}{note} | {tp} | {fp} | {n - tp} | {_pct(p)} | {_pct(r)} | {_pct(f1)} | {s.seconds:.1f} |"
        )
    return out


def family_tables(manifest: dict[str, Any], scores: list[ToolScore]) -> list[str]:
    sizes = family_sizes(manifest)
    head = "| family (positives) | " + " | ".join(s.tool for s in scores) + " |"
    sep = "|---|" + "---:|" * len(scores)
    out = ["Recall per family (found / planted):", "", head, sep]
    for fam in FAMILIES:
        cells = [f"{_pct(s.tp[fam] / sizes[fam])} ({s.tp[fam]})" if sizes[fam] else "–" for s in scores]
        out.append(f"| {fam} ({sizes[fam]}) | " + " | ".join(cells) + " |")
    out += ["", "Precision per family (TP by the positive's family; FP by the reporting rule's family):", "", head, sep]
    for fam in [*FAMILIES, "other"]:
        cells = []
        for s in scores:
            tp, fp = s.tp[fam], s.fp[fam]
            cells.append(f"{_pct(tp / (tp + fp))} ({fp} FP)" if tp + fp else "–")
        out.append(f"| {fam} | " + " | ".join(cells) + " |")
    out += ["", "F1 per family:", "", head, sep]
    for fam in FAMILIES:
        cells = []
        for s in scores:
            _, _, f1 = prf(s.tp[fam], s.fp[fam], sizes[fam])
            cells.append(_pct(f1))
        out.append(f"| {fam} | " + " | ".join(cells) + " |")
    return out


def fp_category_table(scores: list[ToolScore]) -> list[str]:
    cats = Counter[str]()
    for s in scores:
        cats.update(s.fp_category)
    out = ["| false positives on … | " + " | ".join(s.tool for s in scores) + " |", "|---|" + "---:|" * len(scores)]
    for cat, _ in cats.most_common():
        out.append(f"| {cat} | " + " | ".join(str(s.fp_category.get(cat, 0)) for s in scores) + " |")
    return out


def tokenward_details(manifest: dict[str, Any], s: ToolScore) -> list[str]:
    out = [f"{s.tool} misses by family and planted kind (no values):", ""]
    missed: dict[str, Counter[str]] = defaultdict(Counter)
    examples: dict[str, list[str]] = defaultdict(list)
    for i, p in enumerate(manifest["positives"]):
        if i not in s.found:
            missed[p["family"]][p["label"]] += 1
            if len(examples[p["label"]]) < 3:
                examples[p["label"]].append(f"{p['file']}:{p['line']}")
    for fam in FAMILIES:
        if missed[fam]:
            out.append(
                f"- {fam}: "
                + ", ".join(
                    f"{label} ×{n} (e.g. {'; '.join(examples[label])})" for label, n in missed[fam].most_common()
                )
            )
    out += ["", f"{s.tool} false positives by rule family (rule, look-alike hit, location; no values):", ""]
    by_fam: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for fp in s.false_positives:
        by_fam[fp["rule_family"]].append(fp)
    for fam, items in sorted(by_fam.items()):
        out.append(f"- {fam}: {len(items)}")
        for it in items[:40]:
            out.append(f"  - {it['rule']} on {it['category']} at {it['file']}:{it['line']}")
        if len(items) > 40:
            out.append(f"  - … {len(items) - 40} more in results.json")
    return out


def main() -> None:
    """Generate, run, score, print."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--files", type=int, default=900)
    ap.add_argument("--tools", default=",".join(TOOLS), help=f"comma-separated subset of {', '.join(TOOLS)}")
    ap.add_argument("--no-generate", action="store_true", help="reuse benchmarks/work/accuracy as it is")
    ap.add_argument("--details", action="store_true", help="also print every tokenward FP (not just 40 per family)")
    args = ap.parse_args()
    tools = [x.strip() for x in args.tools.split(",") if x.strip()]
    unknown = set(tools) - set(TOOLS)
    if unknown:
        raise SystemExit(f"unknown tools: {', '.join(sorted(unknown))}")

    manifest_path = WORK / "manifest.json"
    if args.no_generate and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
    else:
        manifest = generate.generate(WORK, args.seed, args.files)
        manifest_path.write_text(json.dumps(manifest, indent=1))
    print(f"evaluation set: {generate.summary(manifest)}", file=sys.stderr)

    resolved = peers.tools(install=any(t != "tokenward" for t in tools))
    versions = peers.versions(resolved)
    corpus = WORK / "corpus"
    scores: list[ToolScore] = []
    for tool in tools:
        print(f"running {tool} …", file=sys.stderr)
        run: ToolRun = ADAPTERS[tool](_binary(resolved, tool), corpus)
        if run.error:
            print(f"  {tool} failed: {run.error}", file=sys.stderr)
        scores.append(score(manifest, run))
        print(f"  {len(run.findings)} findings in {run.seconds:.1f}s", file=sys.stderr)
        if tool == "tokenward" and not run.error:
            # Kingfisher hides low-confidence findings by default; show tokenward both ways.
            kept = tuple(f for f in run.findings if f.confidence != "low")
            variant = ToolRun("tokenward ≥medium", kept, run.seconds)
            scores.append(score(manifest, variant))

    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    lines = [
        f"Accuracy run {dt.date.today().isoformat()}, commit {commit}, seed {manifest['seed']}: "
        f"{generate.summary(manifest)}",
        "",
        "Versions: " + "; ".join(f"{k} = {v}" for k, v in versions.items() if k in tools),
        "",
        *overall_table(manifest, scores),
        "",
        *family_tables(manifest, scores),
        "",
        "False positives by what they hit (planted look-alike category, or unlabelled file content):",
        "",
        *fp_category_table(scores),
    ]
    tw = next((s for s in scores if s.tool == "tokenward ≥medium"), None) or next(
        (s for s in scores if s.tool == "tokenward"), None
    )
    if tw is not None:
        details = tokenward_details(manifest, tw)
        if not args.details:
            details = [d for d in details if not d.startswith("  - … ")]
        lines += ["", *details]
    print("\n".join(lines))
    results = {
        "date": dt.date.today().isoformat(),
        "commit": commit,
        "seed": manifest["seed"],
        "versions": versions,
        "positives": len(manifest["positives"]),
        "families": dict(family_sizes(manifest)),
        "tools": {
            s.tool: {
                "tp": dict(s.tp),
                "fp": dict(s.fp),
                "fp_category": dict(s.fp_category),
                "seconds": s.seconds,
                "error": s.error,
                "false_positives": s.false_positives,
                "missed": [
                    {k: p[k] for k in ("file", "line", "family", "label")}
                    for i, p in enumerate(manifest["positives"])
                    if i not in s.found
                ],
            }
            for s in scores
        },
    }
    (WORK / "results.json").write_text(json.dumps(results, indent=1))
    (WORK / "results.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
