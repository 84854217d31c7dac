"""Beyond code" benchmark: a generated mixed corpus of exports, CI logs, archives, documents and
encoded values, scanned by tokenward, gitleaks and Kingfisher (each with its archive support on).

    python benchmarks/mixed_corpus.py [--size-mb 1024] [--runs 2] [--rebuild] [--tools tokenward,gitleaks,kingfisher]

The corpus (benchmarks/work/mixed, git-ignored) is written from the documented formats with
generated GitHub tokens (valid checksums) planted in known places; every file's content is
different (lines drawn at random from a pool) so no tool gains from de-duplicating identical
files. Each tool runs once untimed (page cache warm; its report is read to measure recall of the
planted tokens, per source), then `--runs` timed runs; the table shows median wall time and
throughput in MB/s of corpus bytes on disk.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import json
import random
import statistics
import string
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections import defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "src"))

import peers  # noqa: E402

from tokenward.checks.checksum import base62  # noqa: E402

CORPUS = BENCH / "work" / "mixed"
ALNUM = string.ascii_letters + string.digits
WORDS = ["deploy", "build", "cache", "merge", "release", "worker", "queue", "retry", "timeout", "token", "config",
         "rollout", "metric", "alert", "service", "cluster", "node", "image", "layer", "commit", "branch", "review",
         "ticket", "incident", "latency", "upstream"]


class Corpus:
    """Writes the corpus files and remembers where each planted token went (by source row)."""

    def __init__(self, root: Path, seed: int = 1) -> None:
        self.root = root
        self.rng = random.Random(seed)
        self.planted: dict[str, list[str]] = defaultdict(list)
        self.bytes = 0
        self.pool = [self._line() for _ in range(20_000)]

    def _line(self) -> str:
        words = self.rng.choices(WORDS, k=self.rng.randint(4, 14))
        return " ".join(words) + f" id={self.rng.randrange(10**9)}"

    def token(self, row: str) -> str:
        """A fresh ghp_ token with a valid checksum, planted in row."""
        body = "".join(self.rng.choices(ALNUM, k=30))
        tok = "ghp_" + body + base62(zlib.crc32(body.encode())).decode()
        self.planted[row].append(tok)
        return tok

    def lines(self, n: int) -> list[str]:
        """n random filler lines."""
        return self.rng.choices(self.pool, k=n)

    def write(self, rel: str, data: bytes) -> None:
        """Write one corpus file."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.bytes += len(data)


def slack_zip(c: Corpus, unit: int) -> None:
    """A Slack workspace export zip: 3 channels × 5 day files × 1500 messages."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("users.json", json.dumps([{"id": f"U{i}", "real_name": f"User {i}"} for i in range(20)]))
        zf.writestr("channels.json", json.dumps([{"id": f"C{i}", "name": f"chan-{i}"} for i in range(3)]))
        for ch in range(3):
            for day in range(5):
                texts = c.lines(1500)
                texts[c.rng.randrange(1500)] = f"here you go {c.token('slack')}" if ch == day % 3 else texts[0]
                msgs = [{"type": "message", "user": f"U{i % 20}", "ts": f"{1704164645 + i}.{i:06d}", "text": t}
                        for i, t in enumerate(texts)]
                zf.writestr(f"chan-{ch}/2024-01-{day + 1:02d}.json", json.dumps(msgs, indent=1))
    c.write(f"exports/slack-{unit}.zip", buf.getvalue())


def ci_logs(c: Corpus, unit: int) -> None:
    """A GitHub Actions job log (timestamps), a gzipped GitLab trace (ANSI) and a masked line."""
    ts = "2024-01-02T03:04:05.1234567Z "
    gha = [ts + x for x in c.lines(40_000)]
    gha[20_000] = f"{ts}##[group]Run ./deploy.sh"
    gha[20_001] = f"{ts}  GH_TOKEN: ***"
    gha[25_000] = f"{ts}pushing with {c.token('ci-log')}"
    c.write(f"ci/run-{unit}/1_build.txt", ("\n".join(gha) + "\n").encode())
    gitlab = ["\x1b[0;m" + x + "\x1b[0K" for x in c.lines(40_000)]
    gitlab[30_000] = f"\x1b[32;1m$ export TOKEN={c.token('ci-log')}\x1b[0;m"
    c.write(f"ci/job-{unit}.log.gz", gzip.compress(("\n".join(gitlab) + "\n").encode(), 1))


def jira_json(c: Corpus, unit: int) -> None:
    """REST search results: 400 issues with descriptions and comments."""
    issues = []
    planted = {c.rng.randrange(400): "description", c.rng.randrange(400): "comment"}
    for i in range(400):
        desc = "\n".join(c.lines(20))
        comments = [{"id": str(i * 10 + k), "author": {"displayName": "Dev"}, "body": "\n".join(c.lines(6)),
                     "created": "2024-01-02T03:04:05.000+0000"} for k in range(3)]
        if planted.get(i) == "description":
            desc += f"\nkey: {c.token('jira')}"
        if planted.get(i) == "comment":
            comments[1]["body"] = f"use {c.token('jira')}"
        issues.append({"id": str(10000 + i), "key": f"OPS-{i}", "fields": {
            "summary": c.lines(1)[0], "description": desc, "comment": {"comments": comments}}})
    c.write(f"exports/jira-{unit}.json", json.dumps({"startAt": 0, "total": 400, "issues": issues}).encode())


def source_tarball(c: Corpus, unit: int) -> None:
    """A .tar.gz of a project (text files) with a .env holding a token."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tf:
        for i in range(40):
            data = ("\n".join(c.lines(600)) + "\n").encode()
            if i == 17:
                data = f"GITHUB_TOKEN={c.token('archive')}\n".encode() + data
            info = tarfile.TarInfo(f"project/src/module_{i}.txt" if i != 17 else "project/.env")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    c.write(f"archives/project-{unit}.tar.gz", buf.getvalue())


def nested_zip(c: Corpus, unit: int) -> None:
    """A zip of logs holding a zip (nested one level) with a token in the inner one."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("app/settings.txt", "\n".join(c.lines(3000)) + f"\ntoken = {c.token('archive')}\n")
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for i in range(4):
            zf.writestr(f"logs/day-{i}.log", "\n".join(c.lines(8000)) + "\n")
        zf.writestr("bundle/inner.zip", inner.getvalue())
    c.write(f"archives/logs-{unit}.zip", outer.getvalue())


def notebook_and_notes(c: Corpus, unit: int) -> None:
    """A notebook leaking a token in an output, and a Markdown note with one under a heading."""
    def nb_lines(n: int) -> list[str]:  # nbformat keeps each line's own newline
        return [x + "\n" for x in c.lines(n)]
    cells = [{"cell_type": "code", "metadata": {}, "source": nb_lines(30), "outputs": [
        {"output_type": "stream", "name": "stdout", "text": nb_lines(200)}]} for _ in range(20)]
    cells[7]["outputs"][0]["text"][50] = f"{c.token('notebook')}\n"
    c.write(f"notebooks/analysis-{unit}.ipynb", json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5,
                                                            "metadata": {}}).encode())
    note = "# Runbook\n\n" + "\n".join(c.lines(2000)) + f"\n\n## Credentials\n\nGH {c.token('notes')}\n"
    c.write(f"notes/runbook-{unit}.md", note.encode())


def encoded_config(c: Corpus, unit: int) -> None:
    """A docker config.json whose auth is base64(user:token), and a log line with a base64 value."""
    auth = base64.b64encode(f"bot:{c.token('encoded')}".encode()).decode()
    c.write(f"home-{unit}/.docker/config.json", json.dumps({"auths": {"ghcr.io": {"auth": auth}}}).encode())
    hidden = base64.b64encode(f"token={c.token('encoded')}".encode()).decode()
    c.write(f"logs/app-{unit}.log", ("\n".join(c.lines(30_000)) + f"\npayload={hidden}\n").encode())


UNIT = (slack_zip, ci_logs, jira_json, source_tarball, nested_zip, notebook_and_notes, encoded_config)


def build(size_mb: int) -> Corpus:
    """Write units until the corpus reaches size_mb on disk; save the planted tokens beside it."""
    c = Corpus(CORPUS)
    unit = 0
    while c.bytes < size_mb * 1_000_000:
        for make in UNIT:
            make(c, unit)
        unit += 1
    (BENCH / "work" / "mixed-planted.json").write_text(json.dumps(c.planted))
    return c


# --- running ---------------------------------------------------------------------------------------


def commands(t: peers.Tools, out: str, secrets: bool) -> dict[str, list[str]]:
    """Each tool with its archive and decoding support on, writing a JSON report to out."""
    return {
        "tokenward": [str(t.tokenward), "scan", str(CORPUS), "-f", "json", "-o", out, "-q", "--no-db",
                      *(["--show-secrets"] if secrets else [])],
        "gitleaks": [str(t.gitleaks), "dir", str(CORPUS), "-f", "json", "-r", out, "--no-banner", "--exit-code", "0",
                     "-l", "warn", "--max-archive-depth", "8"],
        "kingfisher": [str(t.kingfisher), "scan", str(CORPUS), "--git-history", "none", "--no-validate",
                       "--no-update-check", "-f", "json", "-o", out],
    }


def recall(report: str, planted: dict[str, list[str]]) -> dict[str, str]:
    """found/planted per source row, by looking for each token in the tool's report."""
    return {row: f"{sum(1 for t in toks if t in report)}/{len(toks)}" for row, toks in planted.items()}


def run(cmd: list[str]) -> tuple[float, float, int]:
    """(wall s, CPU s of the tool and its children, exit code)."""
    import os

    with tempfile.TemporaryFile() as out:  # not /dev/null: a sandbox may not have it
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=out)
        _, status, ru = os.wait4(proc.pid, 0)
        return time.perf_counter() - start, ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(status)


def main() -> None:
    """Build (if needed), measure, print a markdown table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--tools", default="tokenward,gitleaks,kingfisher")
    args = ap.parse_args()
    planted_file = BENCH / "work" / "mixed-planted.json"
    if args.rebuild or not planted_file.exists():
        import shutil

        shutil.rmtree(CORPUS, ignore_errors=True)
        started = time.perf_counter()
        build(args.size_mb)
        print(f"corpus built in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    planted = json.loads(planted_file.read_text())
    size = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    t = peers.tools()
    tools = args.tools.split(",")
    rows = []
    with tempfile.TemporaryDirectory(dir=BENCH / "work") as tmp:
        for tool in tools:
            report = Path(tmp) / f"{tool}.json"
            wall0, _, code = run(commands(t, str(report), True)[tool])
            text = report.read_text(errors="replace") if report.exists() else ""
            walls, cpus = [], []
            for _ in range(args.runs):
                wall, cpu, code = run(commands(t, str(Path(tmp) / "timed.json"), False)[tool])
                walls.append(wall)
                cpus.append(cpu)
            med = statistics.median(walls)
            rows.append((tool, med, statistics.median(cpus), size / med / 1e6, recall(text, planted), code, wall0))
    print(f"\ncorpus: {size / 1e6:.0f} MB on disk in {sum(1 for p in CORPUS.rglob('*') if p.is_file())} files; "
          f"{sum(len(v) for v in planted.values())} planted tokens\n")
    print("| tool | median wall s | CPU s | MB/s | recall per source | exit |")
    print("|---|---|---|---|---|---|")
    for tool, wall, cpu, mbs, rec, code, _ in rows:
        total = sum(int(v.split("/")[0]) for v in rec.values())
        per = ", ".join(f"{k} {v}" for k, v in rec.items())
        print(f"| {tool} | {wall:.1f} | {cpu:.1f} | {mbs:.1f} | {total}/{sum(len(v) for v in planted.values())}: "
              f"{per} | {code} |")


if __name__ == "__main__":
    main()
