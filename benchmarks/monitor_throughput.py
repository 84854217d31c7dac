"""End-to-end `tokenward monitor` throughput: the real CLI, gzip CloudTrail and JSON lines, a SQLite inventory.

    python benchmarks/monitor_throughput.py [--events 240000] [--jsonl-events 1000000] [--workers 1,2]
                                            [--formats cloudtrail,jsonl] [--repeat 1] [--json out.json]

Generates (once, cached under benchmarks/work/monitor/) two consecutive days of logs for a few hundred AWS
access keys, a third of them declared in the inventory (tokens.yaml imported before the runs):

- CloudTrail as delivered to S3: `{"Records": [...]}` per gzip file, ~50 files a day, records of the
  documented shape (eventVersion, userIdentity{type, principalId, arn, accountId, accessKeyId, userName},
  eventTime, eventSource, eventName, awsRegion, sourceIPAddress, userAgent, errorCode/errorMessage on
  ~3 %, requestParameters, responseElements, requestID, eventID, readOnly, eventType, recipientAccountId,
  tlsDetails, …; ~1.2-1.8 KB a record); ~5 % are AWS service events without an access key.
- JSON lines (`ts`, `aws_key_id`, `ip`, `user_agent`, `action`, `status`, `id`), 8 files a day.

Every run is the CLI in a fresh process (`tokenward monitor DIR --db sqlite:///… --workers N -q`):
- cold: the first run into a fresh HOME and inventory (no baseline yet: every token is new);
- warm: the next day's logs into the inventory the cold run left (baselines loaded, updated, saved);
- again: the first day's logs once more (every file read before: what a run over an unchanged tree costs,
  such as parallel workers decoding ahead, before the inventory is read, what turns out read already).
Reported: events (from the CLI's summary), wall seconds, events/s (wall), CPU seconds (user+sys of the
CLI and its workers, from wait4), peak RSS (the largest process) and serial seconds (wall − CPU/workers: the
time not spent with every core busy, such as start-up before the workers fork and the merge after them; only
meaningful on a quiet machine). The files are in the page cache
(just generated or read by an earlier round): this measures the monitor, not the disk. The CLI's bytecode is
compiled once before the rounds (under benchmarks/work/monitor/pycache unless PYTHONPYCACHEPREFIX is set), as an
installed CLI has it, even when the caller's environment sets PYTHONDONTWRITEBYTECODE.
On a shared machine compare variants by CPU seconds; wall rates need a quiet machine. To compare two source
trees with the same installed CLI, run the script once per tree with PYTHONPATH=<tree>/src (the CLI inherits it).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import shutil
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from launch import measured

BENCH = Path(__file__).resolve().parent
WORK = BENCH / "work" / "monitor"
TOKENWARD = [str(Path(sys.executable).parent / "tokenward")]  # the installed CLI, as users run it
KEY = "5e" * 32
B32 = string.ascii_uppercase + "234567"
DAY0 = 1741000000 - 1741000000 % 86400  # 2025-03-03 00:00 UTC
REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2")
AGENTS = ("aws-cli/2.15.0 Python/3.11.6 Linux/5.10.205-195.807.amzn2.x86_64 exe/x86_64.amzn.2 prompt/off "
          "command/s3.cp", "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#5.10.205 md/arch#x86_64 "
          "lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.0",
          "aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64 api/s3#1.47.5",
          "aws-sdk-java/2.21.29 Linux/5.15.0-1051-aws OpenJDK_64-Bit_Server_VM/17.0.9+9 Java/17.0.9 vendor/Amazon",
          "terraform-provider-aws/5.31.0 (+https://registry.terraform.io/providers/hashicorp/aws) "
          "aws-sdk-go/1.49.13 (go1.21.5; linux; amd64)")
CALLS = (("s3.amazonaws.com", "GetObject"), ("s3.amazonaws.com", "PutObject"), ("s3.amazonaws.com", "ListObjects"),
         ("dynamodb.amazonaws.com", "GetItem"), ("dynamodb.amazonaws.com", "Query"), ("sqs.amazonaws.com",
         "SendMessage"), ("sqs.amazonaws.com", "ReceiveMessage"), ("ec2.amazonaws.com", "DescribeInstances"),
         ("kms.amazonaws.com", "Decrypt"), ("sts.amazonaws.com", "GetCallerIdentity"), ("lambda.amazonaws.com",
         "Invoke"), ("logs.amazonaws.com", "PutLogEvents"), ("monitoring.amazonaws.com", "PutMetricData"))


def key_id(rng: random.Random) -> str:
    """An access key id: AKIA + 16 characters of [A-Z2-7]."""
    return "AKIA" + "".join(rng.choice(B32) for _ in range(16))


def personas(n: int, seed: int) -> list[dict[str, Any]]:
    """n keys, each with its own addresses, agent, calls, region and share of the traffic."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        nets = [f"{rng.randrange(11, 220)}.{rng.randrange(256)}.{rng.randrange(256)}"
                for _ in range(rng.randrange(1, 4))]
        out.append({"key": key_id(rng), "user": f"svc-{i:03d}", "nets": nets, "agent": rng.choice(AGENTS),
                    "calls": rng.sample(CALLS, rng.randrange(2, 6)), "region": rng.choice(REGIONS),
                    "weight": rng.paretovariate(1.2)})
    return out


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def cloudtrail_record(rng: random.Random, p: dict[str, Any], at: float) -> dict[str, Any]:
    """One CloudTrail record of p's use at epoch second at (the documented shape, ~1.2-1.8 KB)."""
    source, name = rng.choice(p["calls"])
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    rec: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDA" + p["key"][4:], "accountId": "123456789012",
                         "arn": f"arn:aws:iam::123456789012:user/{p['user']}", "accessKeyId": p["key"],
                         "userName": p["user"]},
        "eventTime": stamp, "eventSource": source, "eventName": name, "awsRegion": p["region"],
        "sourceIPAddress": f"{rng.choice(p['nets'])}.{rng.randrange(2, 254)}", "userAgent": p["agent"],
        "requestParameters": {"bucketName": f"{p['user']}-artifacts", "key": f"builds/{rng.getrandbits(40):x}/out.tgz",
                              "Host": f"{p['user']}-artifacts.s3.{p['region']}.amazonaws.com",
                              "x-id": name} if source.startswith("s3") else
        {"tableName": f"{p['user']}-state", "limit": 100, "consistentRead": False,
         "key": {"pk": {"S": f"job#{rng.getrandbits(32):x}"}}},
        "responseElements": None if rng.random() < 0.7 else {"x-amz-server-side-encryption": "AES256",
                                                              "requestId": _uuid(rng)},
        "additionalEventData": {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
                                "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader",
                                "x-amz-id-2": f"{rng.getrandbits(256):064x}", "bytesTransferredOut": 1234},
        "requestID": f"{rng.getrandbits(64):016X}", "eventID": _uuid(rng),
        "readOnly": name.startswith(("Get", "List", "Describe", "Query")),
        "resources": [{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{p['user']}-artifacts/builds/x"},
                      {"accountId": "123456789012", "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{p['user']}"}],
        "eventType": "AwsApiCall", "managementEvent": not source.startswith("s3"),
        "recipientAccountId": "123456789012", "eventCategory": "Data" if source.startswith("s3") else "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                       "clientProvidedHostHeader": f"{source.split('.')[0]}.{p['region']}.amazonaws.com"},
    }
    if rng.random() < 0.03:
        rec["errorCode"], rec["errorMessage"] = rng.choice((("AccessDenied", "Access Denied"),
                                                            ("ThrottlingException", "Rate exceeded"),
                                                            ("NoSuchKey", "The specified key does not exist.")))
    return rec


def service_record(rng: random.Random, at: float) -> dict[str, Any]:
    """An event made by an AWS service (no access key): counted as without a token."""
    return {"eventVersion": "1.09", "userIdentity": {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"},
            "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)), "eventSource": "kms.amazonaws.com",
            "eventName": "GenerateDataKey", "awsRegion": "us-east-1", "sourceIPAddress": "cloudtrail.amazonaws.com",
            "userAgent": "cloudtrail.amazonaws.com", "requestParameters": {"keySpec": "AES_256"},
            "responseElements": None, "requestID": _uuid(rng), "eventID": _uuid(rng), "readOnly": True,
            "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": "123456789012"}


def day_events(ps: list[dict[str, Any]], n: int, day: int, seed: int) -> list[tuple[float, dict[str, Any] | None]]:
    """n (time, persona) pairs spread over one day, sorted by time; None: a service event."""
    rng = random.Random(seed * 1000 + day)
    weights = [p["weight"] for p in ps]
    start = DAY0 + day * 86400
    times = sorted(start + rng.random() * 86400 for _ in range(n))
    chosen = rng.choices(ps, weights, k=n)
    return [(t, None if rng.random() < 0.05 else p) for t, p in zip(times, chosen, strict=True)]


def write_cloudtrail(out: Path, ps: list[dict[str, Any]], n: int, files: int, day: int, seed: int) -> None:
    """One day of CloudTrail as ~`files` gzip documents named and ordered as S3 delivers them."""
    rng = random.Random(seed + day)
    evs = day_events(ps, n, day, seed)
    per = -(-n // files)
    for f in range(files):
        chunk = evs[f * per:(f + 1) * per]
        if not chunk:
            break
        stamp = time.strftime("%Y%m%dT%H%MZ", time.gmtime(chunk[0][0]))
        path = out / f"AWSLogs/123456789012/CloudTrail/us-east-1/{time.strftime('%Y/%m/%d', time.gmtime(chunk[0][0]))}"
        path.mkdir(parents=True, exist_ok=True)
        recs = [cloudtrail_record(rng, p, t) if p else service_record(rng, t) for t, p in chunk]
        data = json.dumps({"Records": recs}, separators=(",", ":")).encode()
        (path / f"123456789012_CloudTrail_us-east-1_{stamp}_{rng.getrandbits(40):x}.json.gz").write_bytes(
            gzip.compress(data, 6))


def write_jsonl(out: Path, ps: list[dict[str, Any]], n: int, files: int, day: int, seed: int) -> None:
    """One day of JSON lines request logs (`ts`, `aws_key_id`, ip, agent, action, status, id) in `files` files."""
    rng = random.Random(seed + 100 + day)
    evs = day_events(ps, n, day, seed + 1)
    per = -(-n // files)
    out.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        with open(out / f"requests-{day}-{f:02d}.jsonl", "w") as fh:
            for t, p in evs[f * per:(f + 1) * per]:
                if p is None:
                    fh.write(json.dumps({"ts": _ms(t), "ip": "10.0.0.1", "action": "GET /health", "status": 200})
                             + "\n")
                    continue
                source, name = rng.choice(p["calls"])
                fh.write(json.dumps({"ts": _ms(t), "aws_key_id": p["key"], "ip": f"{rng.choice(p['nets'])}."
                                     f"{rng.randrange(2, 254)}", "user_agent": p["agent"],
                                     "action": f"{source.split('.')[0]}:{name}",
                                     "status": 403 if rng.random() < 0.01 else 200, "id": _uuid(rng)}) + "\n")


def _ms(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def manifest(ps: list[dict[str, Any]]) -> str:
    """tokens.yaml declaring every third key (the rest are seen in use, never declared)."""
    out = ["version: 1", "tokens:"]
    for p in ps[::3]:
        out += [f"  - name: {p['user']}", "    provider: aws", f"    owner: {p['user']}@example.com",
                "    purpose: write", "    match:", f"      aws_key_id: {p['key']}"]
    return "\n".join(out) + "\n"


def generate(args: argparse.Namespace) -> Path:
    """The inputs of these arguments (cached by their parameters)."""
    root = WORK / f"k{args.keys}-ct{args.events}x{args.files}-jl{args.jsonl_events}x{args.jsonl_files}-s{args.seed}"
    if (root / "done").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    t0 = time.perf_counter()
    ps = personas(args.keys, args.seed)
    for day, name in ((0, "a"), (1, "b")):
        write_cloudtrail(root / f"cloudtrail-{name}", ps, args.events, args.files, day, args.seed)
        write_jsonl(root / f"jsonl-{name}", ps, args.jsonl_events, args.jsonl_files, day, args.seed)
    (root / "tokens.yaml").write_text(manifest(ps))
    (root / "done").write_text("")
    print(f"generated inputs in {time.perf_counter() - t0:.0f} s under {root}", file=sys.stderr)
    return root


def timed(cmd: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run cmd; wall seconds, CPU seconds (it and its waited-for workers), peak RSS (launch.py: its own, not this
    script's) and the events and malformed lines its summary counts."""
    with tempfile.TemporaryFile() as err:
        m = measured(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        err.seek(0)
        text = err.read().decode(errors="replace")
    if m.code not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} exited {m.code}:\n{text}")
    found = re.search(r"^(\d+) events, (\d+) malformed", text, re.M)
    return {"wall": m.wall, "cpu": m.cpu, "rss_mib": m.rss_mib,
            "events": int(found.group(1)) if found else -1, "malformed": int(found.group(2)) if found else -1}


def cli_env(home: str) -> dict[str, str]:
    """The CLI's environment: a fresh HOME, the key, and bytecode cached (outside the source tree, per tree) as an
    installed CLI has it: with PYTHONDONTWRITEBYTECODE inherited, every run would compile its modules (~0.2 s)."""
    env = {**os.environ, "HOME": home, "TOKENWARD_KEY": KEY, "XDG_DATA_HOME": f"{home}/.local/share",
           "XDG_CACHE_HOME": f"{home}/.cache", "XDG_CONFIG_HOME": f"{home}/.config",
           "PYTHONPYCACHEPREFIX": os.environ.get("PYTHONPYCACHEPREFIX", str(WORK / "pycache"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def warm_bytecode() -> None:
    """One throwaway run over an empty directory: the measured runs then find the bytecode compiled."""
    with tempfile.TemporaryDirectory(prefix="tw-monitor-warm-") as tmp:
        subprocess.run([*TOKENWARD, "monitor", tmp, "--db", f"sqlite:///{tmp}/inventory.db", "-q"], env=cli_env(tmp),
                       check=False, capture_output=True)


def one_round(root: Path, fmt: str, workers: int) -> list[dict[str, Any]]:
    """A cold run (day a), a warm run (day b) and day a again, of fmt with this many workers, in a fresh HOME."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="tw-monitor-bench-") as tmp:
        env = cli_env(tmp)
        db = f"sqlite:///{tmp}/inventory.db"
        subprocess.run([*TOKENWARD, "import", "manifest", str(root / "tokens.yaml"), "--db", db], env=env,
                       check=True, capture_output=True)
        extra = ["--format", fmt] if fmt == "jsonl" else []
        for temp, day in (("cold", "a"), ("warm", "b"), ("again", "a")):
            cmd = [*TOKENWARD, "monitor", str(root / f"{fmt}-{day}"), "--db", db, "--workers", str(workers), "-q",
                   "--alerts", "jsonl", *extra]
            rows.append({"format": fmt, "workers": workers, "run": temp, **timed(cmd, env)})
    return rows


def best(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (format, workers, run): the round with the least CPU (the machine is shared)."""
    out: dict[tuple[str, int, str], dict[str, Any]] = {}
    for r in rows:
        k = (r["format"], r["workers"], r["run"])
        if k not in out or r["cpu"] < out[k]["cpu"]:
            out[k] = r
    return list(out.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=240_000, help="CloudTrail events a day")
    ap.add_argument("--files", type=int, default=50, help="CloudTrail files a day")
    ap.add_argument("--jsonl-events", type=int, default=1_000_000)
    ap.add_argument("--jsonl-files", type=int, default=8)
    ap.add_argument("--keys", type=int, default=300)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--formats", default="cloudtrail,jsonl")
    ap.add_argument("--repeat", type=int, default=1, help="rounds; the least CPU of each is shown")
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args()
    root = generate(args)
    warm_bytecode()
    rows = []
    for _ in range(args.repeat):
        for fmt in args.formats.split(","):
            for w in (int(x) for x in args.workers.split(",")):
                rows += one_round(root, fmt, w)
    print(f"{'format':<11}{'workers':>8}{'run':>6}{'events':>10}{'wall s':>9}{'events/s':>11}{'CPU s':>8}"
          f"{'ev/CPU-s':>10}{'RSS MiB':>9}{'serial s':>10}")
    for r in best(rows):
        print(f"{r['format']:<11}{r['workers']:>8}{r['run']:>6}{r['events']:>10}{r['wall']:>9.2f}"
              f"{r['events'] / r['wall']:>11,.0f}{r['cpu']:>8.2f}{r['events'] / r['cpu']:>10,.0f}{r['rss_mib']:>9.0f}"
              f"{r['wall'] - r['cpu'] / r['workers']:>10.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
