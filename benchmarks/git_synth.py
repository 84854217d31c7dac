"""Build a large, realistic, deterministic git repository for the history benchmark.

The installed Python standard library and site-packages sources are replayed as thousands of
commits (additions, edits, renames, deletions, merges, side branches and tags) through
`git fast-import`. A few dozen fake GitHub tokens are planted on the way; some are deleted later
so that they live only in history, some only on an unmerged branch. The same corpus and seed
always give the same repository (same commit ids).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.tokens import TokenFactory  # noqa: E402

SUFFIXES = (".py", ".txt", ".rst", ".cfg", ".toml", ".json", ".ini", ".md")
MAX_CORPUS_FILE = 400_000
EPOCH = 1_600_000_000
AUTHORS = (("Ada Lovelace", "ada@example.org"), ("Grace Hopper", "grace@example.org"),
           ("Alan Turing", "alan@example.org"), ("Edsger Dijkstra", "edsger@example.org"))
TOKEN_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_")


@dataclass(frozen=True)
class Planted:
    """A planted token and where it lives."""

    token: str
    path: str
    commit_index: int
    fate: str  # "head" (still at the tip), "deleted" (history only), "branch" (unmerged branch only)


@dataclass
class Plan:
    """Sizes of the repository to build."""

    commits: int = 10_000
    target_bytes: int = 1_700_000_000
    tokens: int = 40
    seed: int = 20240601


@dataclass
class _State:
    files: dict[str, bytes] = field(default_factory=dict)
    marks: int = 0
    commit: int = 0
    blob_bytes: int = 0


def corpus(roots: list[Path]) -> list[tuple[str, bytes]]:
    """Every text source file under roots, sorted, as (relative path, bytes)."""
    out: list[tuple[str, bytes]] = []
    for n, root in enumerate(roots):
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                if path.suffix not in SUFFIXES or path.is_symlink():
                    continue
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                if 0 < len(data) <= MAX_CORPUS_FILE and b"\0" not in data[:4096]:
                    out.append((f"lib{n}/{path.relative_to(root).as_posix()}", data))
    return out


def default_roots() -> list[Path]:
    """The standard library and the benchmark venv's site-packages."""
    import sysconfig
    return [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]


class Builder:
    """Writes a fast-import stream for a Plan."""

    def __init__(self, plan: Plan, files: list[tuple[str, bytes]], out: object) -> None:
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.pending = list(files)
        self.rng.shuffle(self.pending)
        self.out = out
        self.st = _State()
        self.tokens = TokenFactory(plan.seed)
        self.planted: list[Planted] = []
        self.live_tokens: list[tuple[str, str]] = []  # (path, token) still present on main
        self.branch_tips = 0

    def write(self, data: bytes) -> None:
        """Append raw bytes to the stream."""
        self.out.write(data)  # type: ignore[attr-defined]

    def blob(self, data: bytes) -> int:
        """Emit a blob and return its mark."""
        self.st.marks += 1
        self.st.blob_bytes += len(data)
        self.write(b"blob\nmark :%d\ndata %d\n" % (self.st.marks, len(data)) + data + b"\n")
        return self.st.marks

    def commit(self, ref: str, message: str, changes: list[tuple[str, bytes | None]],
               parents: tuple[str, ...] = ()) -> int:
        """Emit a commit on ref with file changes (None deletes) and return its mark."""
        ops = []
        for path, data in changes:
            if data is None:
                ops.append(b"D " + path.encode() + b"\n")
            else:
                ops.append(b"M 100644 :%d %s\n" % (self.blob(data), path.encode()))
        self.st.commit += 1
        self.st.marks += 1
        name, email = AUTHORS[self.st.commit % len(AUTHORS)]
        when = EPOCH + self.st.commit * 600
        msg = message.encode()
        head = (f"commit {ref}\nmark :{self.st.marks}\n"
                f"author {name} <{email}> {when} +0000\ncommitter {name} <{email}> {when} +0000\n")
        self.write(head.encode() + b"data %d\n" % len(msg) + msg + b"\n")
        for i, parent in enumerate(parents):
            self.write(f"{'from' if i == 0 else 'merge'} {parent}\n".encode())
        self.write(b"".join(ops) + b"\n")
        return self.st.marks

    def edit(self, data: bytes, tag: str) -> bytes:
        """A plausible edit of a text file: insert, delete, replace or duplicate a few lines."""
        lines = data.split(b"\n")
        for _ in range(self.rng.randint(1, 3)):
            i = self.rng.randrange(len(lines))
            op = self.rng.random()
            if op < 0.4:
                lines.insert(i, f"# {tag}: revised {self.rng.getrandbits(32):08x}".encode())
            elif op < 0.6 and len(lines) > 20:
                del lines[i:i + self.rng.randint(1, 5)]
            elif op < 0.85:
                lines[i] = lines[i] + f"  # {tag}".encode()
            else:
                lines[i:i] = lines[i:i + self.rng.randint(2, 8)]
        return b"\n".join(lines)

    # -- the commit plan -------------------------------------------------------------------

    def add_path(self, path: str, data: bytes) -> None:
        """Track a file on main."""
        if path not in self.st.files:
            self.paths.append(path)
        self.st.files[path] = data

    def drop_path(self, path: str) -> None:
        """Forget a file on main."""
        del self.st.files[path]
        i = self.paths.index(path)
        self.paths[i] = self.paths[-1]
        self.paths.pop()

    def random_path(self) -> str:
        """A random corpus path on main (planted config files are left alone)."""
        while True:
            path = self.paths[self.rng.randrange(len(self.paths))]
            if not path.startswith("config/"):
                return path

    def run(self) -> list[Planted]:
        """Emit the whole history; return the planted tokens."""
        self.paths: list[str] = []
        n = self.plan.commits
        first = len(self.pending) // 12
        self.root_mark = self.commit("refs/heads/main", "Initial import", self.take(first))
        rest = sum(len(d) for _, d in self.pending)
        adds = min(rest, int(1.5 * n * rest / max(1, len(self.pending))))  # take() adds 1.5 a commit
        self.per_commit = max(4096, (self.plan.target_bytes - self.st.blob_bytes - adds) // n)
        plant_at = sorted(self.rng.sample(range(20, n - 20), self.plan.tokens))
        removals: dict[int, list[tuple[str, str]]] = {}
        for i in range(1, n):
            changes = self.take(self.rng.randint(0, 3)) + self.edits(i) + self.moves(i)
            if i in plant_at:
                changes += self.plant(i, plant_at.index(i), removals)
            changes += removals.pop(i, [])  # type: ignore[arg-type]
            self.commit("refs/heads/main", self.message(i), changes)
            self.main_mark = self.st.marks
            if i % 700 == 350:
                self.side_branch(i)
            if i % 1000 == 999:
                self.write(f"reset refs/tags/v{i // 1000}.0\nfrom :{self.main_mark}\n\n".encode())
        return self.planted

    def take(self, count: int) -> list[tuple[str, bytes | None]]:
        """Add the next count corpus files."""
        out: list[tuple[str, bytes | None]] = []
        for _ in range(min(count, len(self.pending))):
            path, data = self.pending.pop()
            self.add_path(path, data)
            out.append((path, data))
        return out

    def edits(self, i: int) -> list[tuple[str, bytes | None]]:
        """Edit random files until this commit has written its share of new blob bytes."""
        out: dict[str, bytes | None] = {}
        written = 0
        while written < self.per_commit:
            path = self.random_path()
            data = self.edit(self.st.files[path], f"c{i}")
            self.st.files[path] = data
            out[path] = data
            written += len(data)
        return list(out.items())

    def moves(self, i: int) -> list[tuple[str, bytes | None]]:
        """Now and then rename or delete a file."""
        r = self.rng.random()
        if r < 0.03:
            old = self.random_path()
            data = self.st.files[old]
            new = f"moved/{i}/{old.rsplit('/', 1)[-1]}"
            self.drop_path(old)
            self.add_path(new, data)
            return [(old, None), (new, data)]
        if r < 0.05 and len(self.paths) > 100:
            old = self.random_path()
            self.drop_path(old)
            return [(old, None)]
        return []

    def message(self, i: int) -> str:
        """A commit message."""
        verbs = ("Fix", "Refactor", "Tidy", "Speed up", "Document", "Handle edge case in")
        return f"{verbs[i % len(verbs)]} module batch {i}\n\nChange number {i}.\n"

    def token(self, k: int) -> str:
        """The k-th planted token (a format-valid fake GitHub token)."""
        return self.tokens.crc_base62(TOKEN_PREFIXES[k % len(TOKEN_PREFIXES)])

    def settings_file(self, token: str, k: int) -> bytes:
        """A settings module that leaks token."""
        return (f'"""Settings for service {k}."""\n\nimport os\n\nDEBUG = False\n'
                f'TIMEOUT = {30 + k}\nGITHUB_TOKEN = os.environ.get("GITHUB_TOKEN", "{token}")\n'
                f'RETRIES = 3\n').encode()

    def plant(self, i: int, k: int, removals: dict[int, list[tuple[str, str]]]) -> list[tuple[str, bytes | None]]:
        """Plant token k at commit i; schedule its deletion for history-only tokens."""
        token, fate = self.token(k), ("head", "deleted", "deleted-file", "branch", "head")[k % 5]
        path = f"config/service_{k}/settings.py"
        if fate == "branch":
            self.branch_tips += 1
            parent = f":{self.root_mark}"  # forked before any token was planted on main
            self.commit(f"refs/heads/wip/{k}", f"WIP service {k}\n", [(path, self.settings_file(token, k))],
                        parents=(parent,))
            self.planted.append(Planted(token, path, i, "branch"))
            return []
        data = self.settings_file(token, k)
        self.add_path(path, data)
        later = min(self.plan.commits - 1, i + self.rng.randint(5, 2000))
        if fate == "deleted":
            cleaned = data.replace(token.encode(), b"")
            removals.setdefault(later, []).append((path, cleaned))  # type: ignore[arg-type]
        elif fate == "deleted-file":
            removals.setdefault(later, []).append((path, None))  # type: ignore[arg-type]
        self.planted.append(Planted(token, path, i, "head" if fate == "head" else "history-only"))
        return [(path, data)]

    def side_branch(self, i: int) -> None:
        """A feature branch of three commits, merged back into main."""
        ref, base = f"refs/heads/feature/{i}", self.main_mark
        added: list[tuple[str, bytes]] = []
        for j in range(3):
            path, data = self.pending.pop() if self.pending else (f"feat{i}_{j}.txt", b"feature\n" * 50)
            path = f"features/{i}/{path.rsplit('/', 1)[-1]}"
            added.append((path, data))
            self.commit(ref, f"Feature {i} part {j}\n", [(path, data)], parents=(f":{base}",) if j == 0 else ())
        tip = self.st.marks
        for path, data in added:
            self.add_path(path, data)
        self.commit("refs/heads/main", f"Merge feature {i}\n", list(added),
                    parents=(f":{self.main_mark}", f":{tip}"))
        self.main_mark = self.st.marks


def git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    """Run git in repo and return stdout."""
    return subprocess.run(["git", "-C", str(repo), *args], input=stdin, capture_output=True,
                          check=True).stdout.decode()


def build(dest: Path, plan: Plan, roots: list[Path] | None = None) -> list[Planted]:
    """Build the bare repository dest (replacing it) and return the planted tokens."""
    subprocess.run(["rm", "-rf", str(dest)], check=True)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(dest)], check=True)
    files = corpus(roots or default_roots())
    proc = subprocess.Popen(["git", "-C", str(dest), "fast-import", "--quiet", "--done"],
                            stdin=subprocess.PIPE)
    assert proc.stdin is not None
    with proc.stdin as out:
        planted = Builder(plan, files, out).run()
        out.write(b"done\n")
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    for ref in git(dest, "for-each-ref", "--format=%(refname)", "refs/heads/feature/").split():
        git(dest, "update-ref", "-d", ref)  # merged feature branches are deleted, as usual
    git(dest, "repack", "-a", "-d", "-q", "--window=10", "--depth=50")
    git(dest, "commit-graph", "write", "--reachable")
    return planted


if __name__ == "__main__":
    import argparse
    import time
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dest", type=Path)
    ap.add_argument("--commits", type=int, default=Plan.commits)
    ap.add_argument("--bytes", type=int, default=Plan.target_bytes)
    args = ap.parse_args()
    t = time.monotonic()
    result = build(args.dest, Plan(commits=args.commits, target_bytes=args.bytes))
    print(f"built {args.dest} in {time.monotonic() - t:.0f}s; {len(result)} tokens planted")
