"""Live sources end to end: items/s and bytes/s of `tokenward scan <url>` against fake Slack and Jira and moto S3.

    .venv/bin/python benchmarks/live_sources.py [--slack 10000] [--jira 2000] [--s3-mb 5120] [--object-mb 64]
                                                [--json results.json]

Starts a fake Slack Web API (one channel, --slack messages in conversations.history pages of 200),
a fake Jira REST API (--jira issues in /rest/api/2/search pages of 50, each with a description and
two comments) and moto in server mode (--s3-mb of text objects of --object-mb each, uploaded with
boto3), then times `tokenward scan slack://…`, `jira://…` and `s3://…` as separate processes, the
way a user runs them (--no-db: a full read, no cursor). Every message, issue and comment is distinct text, since the
scanner reads identical content once. One planted token per 1,000 messages, per
100 issues and per object checks that the reads were complete. Reports wall seconds, items/s (messages,
issues or objects the provider served, all read through the expanders and matcher) and MB/s (bytes
the provider sent: API bodies, object contents) per source, with the report's blobs_scanned and
bytes_scanned (after expansion) alongside. Uploading to moto is not timed. Needs moto[server]
and boto3 for the S3 part (skipped otherwise); the full sizes want a quiet machine with ~2x
--s3-mb of free disk for moto's spooled objects.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "src"))

from tests.live_servers import FakeApi, Reply, Request, free_port, moto_binary, process  # noqa: E402
from tests.tokens import TokenFactory  # noqa: E402

TOKENWARD = [sys.executable, "-m", "tokenward"]
FILLER = ("deploy finished on staging; see the runbook for rollback steps and ping #ops if the canary "
          "error rate goes above one percent during the next hour")


class Served:
    """Bytes a fake server answered (JSON bodies as sent): the volume the scan had to take in."""

    def __init__(self, handle: Callable[[Request], Reply]) -> None:
        self.handle, self.bytes = handle, 0

    def __call__(self, req: Request) -> Reply:
        """Answer, counting the body."""
        reply = self.handle(req)
        self.bytes += len(reply.raw) if reply.raw is not None else len(json.dumps(reply.body))
        return reply


def slack_fake(count: int) -> tuple[FakeApi, int]:
    """A Slack Web API serving count messages in one channel; returns (server, planted tokens)."""
    factory = TokenFactory(5)
    messages = [{"type": "message", "user": "U1", "ts": f"{1700000000 + i}.000100",
                 "text": f"{FILLER} #{i}" + (f" GITHUB_TOKEN={factory.github_classic()}" if i % 1000 == 0 else "")}
                for i in range(count)]
    messages.reverse()  # newest first, as conversations.history answers

    def handle(req: Request) -> Reply:
        method = req.path.strip("/")
        if method == "auth.test":
            return Reply(body={"ok": True, "url": "https://bench.slack.com/"})
        if method == "users.list":
            return Reply(body={"ok": True, "members": [{"id": "U1", "name": "ci"}]})
        start, size = int(req.query.get("cursor") or 0), int(req.query.get("limit") or 200)
        more = start + size < len(messages)
        return Reply(body={"ok": True, "messages": messages[start:start + size], "has_more": more,
                           "response_metadata": {"next_cursor": str(start + size) if more else ""}})
    return FakeApi(Served(handle)), (count + 999) // 1000


def jira_fake(count: int) -> tuple[FakeApi, int]:
    """A Jira REST API serving count issues to /rest/api/2/search; returns (server, planted tokens)."""
    factory = TokenFactory(6)

    def issue(n: int) -> dict[str, Any]:
        secret = f" token {factory.github_classic()}" if n % 100 == 0 else ""
        comments = [{"id": str(n * 10 + c), "body": f"{FILLER} (issue {n}, comment {c})",
                     "author": {"displayName": "Ann"}, "created": "2024-03-01T10:00:00.000+0000"} for c in range(2)]
        return {"id": str(n), "key": f"OPS-{n}", "self": f"/rest/api/2/issue/OPS-{n}", "fields": {
            "summary": f"issue {n}", "description": f"{FILLER} (issue {n}){secret}",
            "updated": "2024-03-01T10:00:00.000+0000",
            "comment": {"comments": comments, "total": 2, "maxResults": 2}}}
    issues = [issue(n) for n in range(count)]

    def handle(req: Request) -> Reply:
        start, size = int(req.query.get("startAt") or 0), int(req.query.get("maxResults") or 50)
        return Reply(body={"startAt": start, "maxResults": size, "total": len(issues),
                           "issues": issues[start:start + size], "names": {"description": "Description"}})
    return FakeApi(Served(handle)), (count + 99) // 100


def fill_s3(url: str, mb: int, object_mb: int) -> tuple[int, int]:
    """Upload mb MB of text objects of object_mb MB each; (how many, total bytes), one token planted in each."""
    import boto3

    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
                          aws_secret_access_key="bench")
    client.create_bucket(Bucket="bench")
    line = (FILLER + "\n").encode()
    body = line * (object_mb * (1 << 20) // len(line))
    factory, count, total = TokenFactory(7), max(1, mb // object_mb), 0
    for n in range(count):
        data = body + f"GITHUB_TOKEN={factory.github_classic()}\n".encode()
        client.put_object(Bucket="bench", Key=f"logs/{n:05d}.log", Body=data)
        total += len(data)
    return count, total


def timed_scan(url: str, env: dict[str, str], extra: list[str], items: int,
               served: Callable[[], int]) -> dict[str, Any]:
    """Run one scan process; its wall time and counts (items and served(): what the provider sent)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        start = time.perf_counter()
        proc = subprocess.run([*TOKENWARD, "scan", url, "--no-db", "--format", "json", "--output", str(out), "-q",
                               *extra], env={**os.environ, **env}, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        report = json.loads(out.read_text()) if out.exists() else {}
    summary = report.get("summary", {})
    size = served()
    return {"url": url, "exit": proc.returncode, "seconds": round(seconds, 2), "items": items, "bytes": size,
            "blobs_scanned": int(summary.get("blobs_scanned", 0)),
            "bytes_scanned": int(summary.get("bytes_scanned", 0)),
            "tokens": len({f["token_id"] for f in report.get("findings", [])}),
            "items_per_s": round(items / seconds, 1), "mb_per_s": round(size / seconds / (1 << 20), 2),
            "skipped": len(report.get("skipped", [])), "stderr": proc.stderr[-500:] if proc.returncode > 1 else ""}


def _served(api: FakeApi) -> int:
    handle = api.handle
    return handle.bytes if isinstance(handle, Served) else 0


def bench_api(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Slack and Jira against their fakes."""
    results = []
    slack, planted = slack_fake(args.slack)
    try:
        env = {"TOKENWARD_SLACK_BASE_URL": slack.url, "SLACK_TOKEN": "xoxb-bench"}
        results.append({"source": "slack", "planted": planted,
                        **timed_scan("slack://bench?channels=C0BENCH0001", env, [], args.slack,
                                                   lambda: _served(slack))})
    finally:
        slack.close()
    jira, planted = jira_fake(args.jira)
    try:
        env = {"TOKENWARD_JIRA_BASE_URL": jira.url, "JIRA_TOKEN": "bench"}
        results.append({"source": "jira", "planted": planted, **timed_scan("jira://bench?jql=project = OPS", env, [],
                                                                           args.jira, lambda: _served(jira))})
    finally:
        jira.close()
    return results


def bench_s3(args: argparse.Namespace) -> list[dict[str, Any]]:
    """S3 against moto in server mode (skipped without moto_server or boto3)."""
    binary = moto_binary()
    if binary is None or args.s3_mb <= 0:
        return [{"source": "s3", "skipped": "moto_server not installed or --s3-mb 0"}]
    port = free_port()
    with process([binary, "-H", "127.0.0.1", "-p", str(port)], port, "moto_server"):
        url = f"http://127.0.0.1:{port}"
        objects, total = fill_s3(url, args.s3_mb, args.object_mb)
        env = {"TOKENWARD_S3_BASE_URL": url, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
        limit = str((args.object_mb + 1) << 20)
        return [{"source": "s3", "planted": objects, **timed_scan("s3://bench/logs", env, ["--max-file-size", limit],
                                                                        objects, lambda: total)}]


def main() -> None:
    """Parse the sizes, run each source, print (and optionally save) the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slack", type=int, default=10_000, help="Slack messages")
    parser.add_argument("--jira", type=int, default=2_000, help="Jira issues")
    parser.add_argument("--s3-mb", type=int, default=5_120, help="MB of S3 objects (0: skip S3)")
    parser.add_argument("--object-mb", type=int, default=64, help="size of each S3 object, MB")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    results = bench_api(args) + bench_s3(args)
    for r in results:
        if "skipped" in r and isinstance(r["skipped"], str):
            print(f"{r['source']:6} skipped: {r['skipped']}")
            continue
        print(f"{r['source']:6} {r['items']:>7} items {r['bytes'] / (1 << 20):>9.1f} MB {r['seconds']:>8.2f} s "
              f"{r['items_per_s']:>9.1f} items/s {r['mb_per_s']:>8.2f} MB/s  tokens {r['tokens']}/{r['planted']} "
              f"exit {r['exit']}{'  ' + r['stderr'] if r['stderr'] else ''}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
