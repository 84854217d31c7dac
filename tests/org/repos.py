"""Small bare repositories with planted fake tokens, built through `git fast-import` at test time.

Used by the scan-org tests and benchmarks/scan_org.py. Tokens come from tests.tokens.TokenFactory
(format-valid, generated per seed; never literals).
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

from tests.tokens import TokenFactory

EPOCH = 1_700_000_000
FILLER_LINE = b"value = compute(alpha, beta)  # filler so blobs have some size\n"


def _blob(data: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(data), data)


def _commit(ref: str, n: int, files: dict[str, bytes], parent: str | None) -> bytes:
    msg = f"change {n}".encode()
    head = f"commit {ref}\ncommitter Dev <dev@example.org> {EPOCH + n} +0000\n".encode()
    body = head + _blob(msg) + (f"from {parent}\n".encode() if parent else b"")
    for path, data in files.items():
        body += f"M 100644 inline {path}\n".encode() + _blob(data)
    return body + b"\n"


def fast_import(repo: Path, stream: bytes) -> None:
    """Feed a fast-import stream to a repository."""
    subprocess.run(["git", "-C", str(repo), "fast-import", "--quiet"], input=stream, check=True,
                   capture_output=True)


def make_repo(path: Path, seed: int, commits: int = 3, tokens: int = 2, filler_kb: int = 2) -> list[str]:
    """A bare repository at path: `commits` commits on main, `tokens` fresh GitHub tokens planted across them
    (the first one later deleted, so it lives in history only); returns the planted tokens."""
    subprocess.run(["git", "init", "--bare", "--quiet", "-b", "main", str(path)], check=True)
    factory, rng = TokenFactory(seed), random.Random(seed)
    planted = [factory.github_classic() for _ in range(tokens)]
    stream = b""
    for n in range(commits):
        filler = FILLER_LINE * (filler_kb * 1024 // len(FILLER_LINE))
        files = {f"src/mod{n}.py": filler + f"# {rng.random()}\n".encode()}  # unique: one blob per commit
        for i, tok in enumerate(planted):
            if i % commits == n:
                files[f"config/app{i}.env"] = f"GITHUB_TOKEN={tok}\n".encode()
        stream += _commit("refs/heads/main", n, files, None)
    if planted and commits > 1:  # the first token deleted again: history only
        stream += f"commit refs/heads/main\ncommitter Dev <dev@example.org> {EPOCH + commits} +0000\n".encode()
        stream += _blob(b"remove config") + b"D config/app0.env\n\n"
    fast_import(path, stream)
    return planted


def add_commit(path: Path, seed: int) -> str:
    """One more commit on main with one fresh token; returns it."""
    token = TokenFactory(seed).github_classic()
    stream = _commit("refs/heads/main", 10_000 + seed % 1000, {f"new/added{seed}.env": f"KEY={token}\n".encode()},
                     "refs/heads/main^0")
    fast_import(path, stream)
    return token


def make_repos(root: Path, count: int, seed: int = 1, **sizes: int) -> dict[Path, list[str]]:
    """count repositories root/repo-NNN.git; returns the planted tokens of each."""
    root.mkdir(parents=True, exist_ok=True)
    return {p: make_repo(p, seed * 100_000 + i, **sizes) for i in range(count)
            for p in [root / f"repo-{i:03d}.git"]}
