"""No plaintext secret is persisted: every output format, the key, cache and data directories."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import env_for
from tests.tokens import provider_tokens

FORMATS = ("json", "jsonl", "csv", "sarif", "text")
# An AWS access key id is a public identifier (CloudTrail logs it, alerts show it whole); the secret
# half of the pair is what must never be written.
PUBLIC_IDENTIFIERS = frozenset({"aws.access-key-id"})


def _secret_of(line: str) -> str:
    """The token part of a generated assignment line (after the last '=' ':' or space)."""
    value = line
    for sep in ("://app:", "Bearer ", "=", ": "):
        if sep in value:
            value = value.split(sep, 1)[1]
    return value.split("@", 1)[0].strip("'\" ")


def _plant(root: Path) -> dict[str, str]:
    tokens = provider_tokens()
    for i, (rule_id, line) in enumerate(tokens.items()):
        folder = root / rule_id.split(".")[0]
        folder.mkdir(exist_ok=True)
        (folder / f"config{i}.env").write_text(f"# settings\n{line}\n")
    return {rule_id: _secret_of(line) for rule_id, line in tokens.items()}


def _all_bytes(*roots: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for r in roots if r.exists() for p in r.rglob("*") if p.is_file()]


def test_no_output_or_state_file_contains_a_plaintext(tmp_path: Path, isolated_home: Path) -> None:
    tree, outdir = tmp_path / "tree", tmp_path / "out"
    tree.mkdir()
    outdir.mkdir()
    secrets = _plant(tree)
    stderr = []
    for fmt in FORMATS:
        proc = subprocess.run(
            [sys.executable, "-m", "tokenward", "scan", "-f", fmt, "-o", str(outdir / f"report.{fmt}"), str(tree)],
            capture_output=True, text=True, env=env_for(isolated_home), timeout=300)
        assert proc.returncode == 1, proc.stderr
        stderr.append(proc.stderr)
    found = {f["token_id"] for f in json.loads((outdir / "report.json").read_text())["findings"]}
    assert len(found) >= 30, f"only {len(found)} of {len(secrets)} planted tokens found"
    files = _all_bytes(outdir, isolated_home)
    assert any(p.name == "key" for p, _ in files)
    for rule_id, secret in secrets.items():
        assert len(secret) >= 16, rule_id
        if rule_id in PUBLIC_IDENTIFIERS:
            continue
        needle = secret.encode()
        leaks = [str(p) for p, data in files if needle in data]
        assert not leaks, f"{rule_id} plaintext in {leaks}"
        assert secret not in "".join(stderr)
