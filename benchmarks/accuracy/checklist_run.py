"""Checklist accuracy: one generated positive set per row of the peer checklist, peers side by side.

    python benchmarks/accuracy/checklist_run.py [--seed 7] [--per-context 1] [--tools tokenward,gitleaks,...]

`benchmarks/accuracy/run.py` plants tokens of the providers we have rules for, so it cannot see a
provider we lack. This benchmark starts from the other end: every row of the checklist
(`tests/data/peer-providers.tsv`, the 667 providers two or more peer scanners detect) gets positives
generated from `benchmarks/accuracy/checklist/*.yaml` — how that provider's tokens look and how its
documentation tells users to configure them, written from the provider's docs, independently of
our rule examples. A row without a rule is then a miss, and a row without a generator entry is
listed as "not measured".

Negatives per entry: the same token shape with no provider context (an id, a digest, a cache key)
and the provider's own context holding a placeholder or a variable reference.

Scoring is per file (one planted value per file, in a few lines of neutral filler): a positive file
is found when the tool reports anything in it; a negative file with any finding is a false
positive. For tokenward the provider of the reporting rule is also compared with the row
("right provider"). Each tool runs with its defaults. Nothing generated leaves
benchmarks/work/checklist/; results (no plaintext) go to results.json there.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import random
import re
import shutil
import string
import subprocess
import sys
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(HERE), str(ROOT), str(HERE.parent)]

import keys  # noqa: E402
import peers  # noqa: E402
from adapters import ADAPTERS, ToolRun  # noqa: E402
from positives import BenchTokens  # noqa: E402

from tokenward.checks.checksum import base62  # noqa: E402

WORK = HERE.parent / "work" / "checklist"
CHECKLIST = ROOT / "tests" / "data" / "peer-providers.tsv"
ENTRIES = HERE / "checklist"
ALPHABETS = {
    "hex": "0123456789abcdef", "HEX": "0123456789ABCDEF", "lower": string.ascii_lowercase,
    "upper": string.ascii_uppercase, "digits": string.digits,
    "alnum": string.ascii_letters + string.digits, "lowernum": string.ascii_lowercase + string.digits,
    "uppernum": string.ascii_uppercase + string.digits, "b64": string.ascii_letters + string.digits + "+/",
    "b64url": string.ascii_letters + string.digits + "_-",
    "b58": "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz",  # Bitcoin base58
    "bech32": "qpzry9x8gf2tvdw0s3jn54khce6mua7l",  # bech32 data characters (age recipients)
}
# Only the named pieces: contexts are code and config, where "{name:3}" may be literal text.
PIECE = re.compile(r"\{(uuid|jwt|gen:[a-z0-9-]+|(?:" + "|".join([*ALPHABETS, "crc62"]) + r"):\d+)\}")
FILLER = ("import os", "# settings for the staging deployment", "timeout = 30", "retries: 3",
          "LOG_LEVEL=info", "def handler(event):", "    return None", "region: eu-west-1")
NEUTRAL = ("request_id = \"{v}\"", "sha: {v}", "cache entry {v} evicted", "<span data-hash=\"{v}\"></span>")
PLACEHOLDERS = ("<your-api-key>", "${{{name}_API_KEY}}", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "REPLACE_ME")


@dataclass(frozen=True)
class Planted:
    """One generated file: a positive of a provider row, or a negative built from a row's entry."""

    path: str
    provider: str
    positive: bool
    kind: str  # context index for positives; "neutral" / "placeholder" for negatives


@dataclass
class Corpus:
    """Everything planted, plus the checklist rows and which of them have a generator entry."""

    planted: list[Planted] = field(default_factory=list)
    rows: dict[str, str] = field(default_factory=dict)  # provider -> peers
    unmeasured: list[str] = field(default_factory=list)


def checklist_rows() -> dict[str, str]:
    """provider -> peers letters, from the vendored checklist."""
    rows = {}
    for line in CHECKLIST.read_text().splitlines():
        if line and not line.startswith(("#", "provider\t")):
            name, peer_letters, *_ = line.split("\t")
            rows[name] = peer_letters
    return rows


def load_entries() -> dict[str, dict[str, Any]]:
    """Every generator entry of every checklist/*.yaml file, by provider."""
    entries: dict[str, dict[str, Any]] = {}
    for path in sorted(ENTRIES.glob("*.yaml")):
        for name, entry in (yaml.safe_load(path.read_text()) or {}).items():
            entries[str(name)] = entry
    return entries


def fill(template: str, rng: random.Random) -> str:
    """A value from a token template: literal text plus {alphabet:N}, {uuid}, {jwt} and {gen:NAME}
    pieces ({gen:NAME}: a structured token from STRUCTURED, which plain alphabets cannot express)."""
    def piece(m: re.Match[str]) -> str:
        spec = m.group(1)
        if spec == "uuid":
            return _uuid4(rng)
        if spec == "jwt":
            return _jwt(rng)
        if spec.startswith("gen:"):
            return STRUCTURED[spec[4:]](rng)
        alphabet, n = spec.split(":")
        if alphabet == "crc62":  # GitHub/npm scheme: N base62 chars + base62 CRC32 of them (6 chars)
            body = "".join(rng.choice(ALPHABETS["alnum"]) for _ in range(int(n)))
            return body + base62(zlib.crc32(body.encode())).decode().rjust(6, "0")
        return "".join(rng.choice(ALPHABETS[alphabet]) for _ in range(int(n)))
    return PIECE.sub(piece, template)


def _jwt(rng: random.Random) -> str:
    def seg(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    claims = {"sub": "".join(rng.choice(ALPHABETS["lowernum"]) for _ in range(12)), "iat": 1760000000}
    sig = "".join(rng.choice(ALPHABETS["b64url"]) for _ in range(43))
    return f"{seg({'alg': 'HS256', 'typ': 'JWT'})}.{seg(claims)}.{sig}"


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(ALPHABETS.get(alphabet, alphabet)) for _ in range(n))


def _b64json(obj: object, urlsafe: bool = True) -> str:
    """Compact JSON, base64 (URL-safe unless told) without padding: the payload part of a token."""
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode().rstrip("=")


def _onepassword_sa(rng: random.Random) -> str:
    # 1Password service account token: "ops_" + base64url JSON of the sign-in details (sign-in
    # address, SRP parameters, email, account unlock key, Secret Key, device id).
    secret_key = "A3-" + "-".join(_rand(rng, "uppernum", n) for n in (6, 6, 5, 5, 5, 5))
    return "ops_" + _b64json({
        "signInAddress": "my.1password.com",
        "userAuth": {"method": "SRPg-4096", "alg": "PBES2g-HS256", "iterations": 650000,
                     "salt": _rand(rng, "b64url", 22)},
        "email": _rand(rng, "lowernum", 13) + "@1passwordserviceaccounts.com",
        "srpX": _rand(rng, "hex", 64),
        "muk": {"alg": "A256GCM", "ext": True, "k": _rand(rng, "b64url", 43), "key_ops": ["encrypt", "decrypt"],
                "kty": "oct", "kid": "mp"},
        "secretKey": secret_key,
        "throttleSecret": {"seed": _rand(rng, "hex", 64), "uuid": _rand(rng, "uppernum", 26)},
        "deviceUuid": _rand(rng, "lowernum", 26)})


def _mapbox(prefix: str) -> Any:
    # Mapbox access token: "pk." / "sk." / "tk." + base64url JSON {"u": username, "a": token id}
    # + "." + a 22-character base64url signature.
    def gen(rng: random.Random) -> str:
        payload = {"u": _rand(rng, "lower", rng.randint(5, 12)), "a": _rand(rng, "lowernum", 25)}
        return f"{prefix}.{_b64json(payload)}.{_rand(rng, 'b64url', 22)}"
    return gen


def _discord_bot(rng: random.Random) -> str:
    # Discord bot token: base64 of the bot's numeric user id (a 17-19 digit snowflake), a 6-char
    # timestamp part and a 27-38 char HMAC part, dot-separated.
    user_id = str(rng.randint(10**17, 2 * 10**18))
    first = base64.b64encode(user_id.encode()).decode().rstrip("=")
    return f"{first}.{_rand(rng, 'b64url', 6)}.{_rand(rng, 'b64url', 38)}"


def _intercom(rng: random.Random) -> str:
    # Intercom access token: standard base64 of "tok:<id with underscores>:1:0".
    return base64.b64encode(f"tok:{_uuid4(rng).replace('-', '_')}:1:0".encode()).decode()


def _miro(rng: random.Random) -> str:
    # Miro access token: base64url JSON naming the region it was issued in, "_", 27 random characters.
    return f"{_b64json({'miro.origin': 'eu01'})}_{_rand(rng, 'b64url', 27)}"


def _wrike(rng: random.Random) -> str:
    # Wrike permanent token: a JWT whose header carries Wrike's token type and version.
    header = _b64json({"tt": "p", "alg": "HS256", "tv": "1"})
    return f"{header}.eyJ{_rand(rng, 'b64url', 120)}.{_rand(rng, 'b64url', 43)}"


def _openssh_ed25519(rng: random.Random) -> str:
    # An unencrypted ed25519 key in the openssh-key-v1 layout, built as the labelled benchmark builds its keys
    # (keys.py): even the layout's fixed header is made here, not written into the templates.
    tokens = BenchTokens()
    tokens.rng = rng
    blob, _ = keys.openssh_ed25519(tokens, "deploy@ci")
    return keys.pem("OPENSSH PRIVATE KEY", blob, 70)


def _coinbase_cdp(rng: random.Random) -> str:
    # Coinbase CDP secret API key: an EC P-256 key in SEC1 PEM, as the downloaded cdp_api_key.json holds it
    # (newlines escaped as \n inside the JSON string), built by keys.py like the labelled benchmark's keys.
    tokens = BenchTokens()
    tokens.rng = rng
    return (keys.pem("EC PRIVATE KEY", keys.ec_sec1(tokens)) + "\n").replace("\n", "\\n")


def _jfrog_reference(rng: random.Random) -> str:
    # JFrog reference token: base64 of "reftkn:01:<expiry, unix seconds>:<random>".
    return base64.b64encode(f"reftkn:01:{rng.randint(1_700_000_000, 1_999_999_999)}:"
                            f"{_rand(rng, 'alnum', 27)}".encode()).decode()


def _pypi(rng: random.Random) -> str:
    # PyPI API token: "pypi-" + base64url of a v2 macaroon: its location field (type 1, length 8) pypi.org,
    # then its identifier field (type 2) and caveats (random here).
    macaroon = bytes([2, 1, 8]) + b"pypi.org" + bytes([2]) + rng.randbytes(119)
    return "pypi-" + base64.urlsafe_b64encode(macaroon).decode().rstrip("=")


def _twitter_bearer(rng: random.Random) -> str:
    # X (Twitter) app-only bearer token: zero-padded ids ("A" is base64's 0), then the URL-encoded key
    # ("%3D" is an encoded "=").
    return f"{'A' * 21}{_rand(rng, 'alnum', 4)}{'A' * 7}{_rand(rng, 'alnum', 28)}%3D{_rand(rng, 'alnum', 50)}"


STRUCTURED = {
    "onepassword-sa": _onepassword_sa,
    "mapbox-sk": _mapbox("sk"),
    "mapbox-pk": _mapbox("pk"),
    "discord-bot": _discord_bot,
    "intercom": _intercom,
    "openssh-ed25519": _openssh_ed25519,
    "miro": _miro,
    "wrike": _wrike,
    "pypi": _pypi,
    "coinbase-cdp": _coinbase_cdp,
    "jfrog-reference": _jfrog_reference,
    "twitter-bearer": _twitter_bearer,
}


def _uuid4(rng: random.Random) -> str:
    h = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{rng.choice('89ab')}{h[17:20]}-{h[20:32]}"


def _suffix(context: str) -> str:
    head = context.lstrip()
    if head.startswith(("{", "[")):
        return ".json"
    if "curl " in context or head.startswith("export "):
        return ".sh"
    if re.match(r"^[\w.-]+:\s*($|\n|\S)", head) and "=" not in head.split("\n")[0]:
        return ".yaml"
    if re.match(r"^[A-Z][A-Z0-9_]*=", head):
        return ".env"
    return ".txt"


def _write(root: Path, rel: str, body: str, rng: random.Random) -> None:
    lines = [rng.choice(FILLER) for _ in range(3)] + [body] + [rng.choice(FILLER) for _ in range(2)]
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n")


def _prefixless(template: str) -> bool:
    # Structured pieces ({jwt}, {gen:...}) identify themselves like a prefix does: a real one in a
    # neutral line is still a token, so such a template gets no "neutral" negative.
    if re.search(r"\{(?:jwt|gen:[a-z0-9-]+)\}", template):
        return False
    return PIECE.sub("", template).strip() == ""


def build(root: Path, seed: int, per_context: int) -> Corpus:
    """Generate the corpus under root; deterministic for a seed and the entry files."""
    rng = random.Random(seed)
    corpus = Corpus(rows=checklist_rows())
    entries = load_entries()
    for name in corpus.rows:
        entry = entries.get(name)
        # A checksummed format the templates cannot express would plant invalid tokens.
        unexpressible = bool(entry and entry.get("checksum") and "{crc62:" not in str(entry.get("token")))
        if not entry or not entry.get("contexts") or unexpressible:
            corpus.unmeasured.append(name)
            continue
        _plant_row(root, corpus, name, entry, rng, per_context)
    return corpus


def _plant_row(root: Path, corpus: Corpus, name: str, entry: dict[str, Any], rng: random.Random,
               per_context: int) -> None:
    template = str(entry["token"])
    for i, context in enumerate(entry["contexts"]):
        for j in range(per_context):
            rel = f"pos/{name}/{i}-{j}{_suffix(context)}"
            # Companion values (a key id beside its secret) are template pieces too: generated here,
            # never written into the entry files.
            _write(root, rel, fill(str(context), rng).replace("{token}", fill(template, rng)), rng)
            corpus.planted.append(Planted(rel, name, True, str(i)))
    if _prefixless(template):
        rel = f"neg/{name}/neutral.txt"
        _write(root, rel, rng.choice(NEUTRAL).format(v=fill(template, rng)), rng)
        corpus.planted.append(Planted(rel, name, False, "neutral"))
    # Only the line that holds the token: a context may carry a fixed companion value (a key id
    # next to its secret) on another line, which is not a placeholder.
    context = next(ln for ln in str(entry["contexts"][0]).split("\n") if "{token}" in ln)
    placeholder = rng.choice(PLACEHOLDERS).format(name=re.sub(r"\W", "_", name.upper()))
    rel = f"neg/{name}/placeholder{_suffix(context)}"
    _write(root, rel, context.replace("{token}", placeholder), rng)
    corpus.planted.append(Planted(rel, name, False, "placeholder"))


def _tokenward_providers() -> dict[str, str]:
    """rule id -> provider and every alias, normalised, from the installed rule set."""
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", (
        "import json; from tokenward.rules.spec import load_rules; "
        "print(json.dumps({s.id: [s.provider, *s.aliases] for s in load_rules()}))")],
        capture_output=True, text=True, check=True).stdout
    return {rid: " ".join(_norm(n) for n in names) for rid, names in json.loads(out).items()}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@dataclass
class Score:
    """One tool's file-level result."""

    tool: str
    found: set[str]  # files with any finding
    right: set[str]  # positive files whose finding names the row's provider (tokenward only)
    seconds: float
    error: str | None


def score(run: ToolRun, corpus: Corpus, providers: dict[str, str]) -> Score:
    by_file: dict[str, list[str]] = defaultdict(list)
    for f in run.findings:
        by_file[f.file].append(f.rule)
    right = set()
    for p in corpus.planted:
        if p.positive and any(_norm(p.provider) in providers.get(r, "").split() for r in by_file.get(p.path, [])):
            right.add(p.path)
    return Score(run.tool, set(by_file), right, run.seconds, run.error)


def _prf(s: Score, corpus: Corpus) -> tuple[int, int, int, float, float]:
    pos = [p for p in corpus.planted if p.positive]
    neg = [p for p in corpus.planted if not p.positive]
    tp = sum(1 for p in pos if p.path in s.found)
    fp = sum(1 for p in neg if p.path in s.found)
    precision = tp / (tp + fp) if tp + fp else 1.0
    return tp, fp, len(pos), precision, tp / len(pos) if pos else 0.0


def tables(scores: list[Score], corpus: Corpus) -> list[str]:
    measured = len(corpus.rows) - len(corpus.unmeasured)
    out = [f"Checklist rows: {len(corpus.rows)}; with a generator entry: {measured}; "
           f"positive files: {sum(p.positive for p in corpus.planted)}; "
           f"negative files: {sum(not p.positive for p in corpus.planted)}", "",
           "| tool | TP | FP | positives | precision | recall | F1 | rows with ≥1 find | wall s |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in scores:
        tp, fp, n, p, r = _prf(s, corpus)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        rows = len({pl.provider for pl in corpus.planted if pl.positive and pl.path in s.found})
        note = f" (failed: {s.error})" if s.error else ""
        out.append(f"| {s.tool}{note} | {tp} | {fp} | {n} | {p:.3f} | {r:.3f} | {f1:.3f} | {rows} | {s.seconds:.1f} |")
    tw = next((s for s in scores if s.tool == "tokenward"), None)
    if tw:
        n = sum(p.positive for p in corpus.planted)
        out += ["", f"tokenward with the right provider: {len(tw.right)} / {n} = {len(tw.right) / max(n, 1):.3f}"]
    return out


def per_provider(scores: list[Score], corpus: Corpus) -> list[str]:
    head = "| provider | peers | " + " | ".join(s.tool for s in scores) + " |"
    out = [head, "|---|---|" + "---:|" * len(scores)]
    for name, letters in corpus.rows.items():
        files = [p.path for p in corpus.planted if p.positive and p.provider == name]
        if not files:
            out.append(f"| {name} | {letters} | " + " | ".join("not measured" for _ in scores) + " |")
            continue
        cells = [f"{sum(f in s.found for f in files)}/{len(files)}" for s in scores]
        out.append(f"| {name} | {letters} | " + " | ".join(cells) + " |")
    return out


def misses(scores: list[Score], corpus: Corpus) -> list[str]:
    tw = next((s for s in scores if s.tool == "tokenward"), None)
    if tw is None:
        return []
    missed = [p for p in corpus.planted if p.positive and p.path not in tw.found]
    fps = [p for p in corpus.planted if not p.positive and p.path in tw.found]
    return ["tokenward misses (file):", *(f"- {p.path}" for p in missed[:200]), "",
            "tokenward false positives (file):", *(f"- {p.path}" for p in fps[:200])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--per-context", type=int, default=1)
    ap.add_argument("--tools", default="tokenward,gitleaks,kingfisher,credsweeper")
    args = ap.parse_args()
    corpus_dir = WORK / "corpus"
    shutil.rmtree(corpus_dir, ignore_errors=True)
    corpus = build(corpus_dir, args.seed, args.per_context)
    t = peers.tools()
    binaries = {"tokenward": t.tokenward, "gitleaks": t.gitleaks, "kingfisher": t.kingfisher,
                "detect-secrets": t.detect_secrets, "credsweeper": t.credsweeper}
    providers = _tokenward_providers()
    scores = [score(ADAPTERS[tool](binaries[tool], corpus_dir), corpus, providers)
              for tool in args.tools.split(",")]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"# Checklist accuracy ({stamp}, seed {args.seed})", "", *tables(scores, corpus)]
    print("\n".join(lines))
    (WORK / "per-provider.md").write_text("\n".join([*lines, "", *per_provider(scores, corpus), "",
                                                     *misses(scores, corpus)]) + "\n")
    (WORK / "results.json").write_text(json.dumps({
        "seed": args.seed, "unmeasured": corpus.unmeasured,
        "tools": {s.tool: {"found": sorted(s.found), "right": sorted(s.right), "seconds": s.seconds,
                           "error": s.error} for s in scores},
        "planted": [p.__dict__ for p in corpus.planted]}, indent=1))
    print(f"\nper-provider table and tokenward's misses: {WORK / 'per-provider.md'}")


if __name__ == "__main__":
    main()
