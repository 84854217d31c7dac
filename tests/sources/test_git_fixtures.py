"""Helpers for the git source tests: real repositories built with the git CLI, scanned in-process."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tokens import TokenFactory
from tokenward.engine import Matcher
from tokenward.findings import Finding
from tokenward.identity import Fingerprinter, load_key
from tokenward.results import ScanResult
from tokenward.rules.compile import compile_rules
from tokenward.rules.spec import BUILTIN_DIR, load_rule_file
from tokenward.scanner import Scanner
from tokenward.settings import Settings
from tokenward.sources.git import GitSource
from tokenward.sources.select import SourceOptions, sources_for

KEY_HEX = "3f" * 32
EPOCH = 1_700_000_000


@pytest.fixture(scope="session")
def gh_matcher() -> Matcher:
    """Only the GitHub rules: fast to compile, enough to find the tokens these tests plant."""
    return Matcher(compile_rules(load_rule_file(BUILTIN_DIR / "github.yml"), cache=False))


@pytest.fixture(autouse=True)
def git_env(monkeypatch: pytest.MonkeyPatch, isolated_home: Path) -> Iterator[None]:
    """Deterministic git: no user or system config, fixed identity, the test's fingerprint key."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(isolated_home / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("TOKENWARD_KEY", KEY_HEX)
    (isolated_home / "gitconfig").write_text(
        "[init]\n\tdefaultBranch = main\n[protocol \"file\"]\n\tallow = always\n"
        "[user]\n\tname = Test\n\temail = test@example.org\n")
    yield


@pytest.fixture
def tokens() -> TokenFactory:
    """A fresh deterministic token factory."""
    return TokenFactory(seed=99)


class Repo:
    """A test repository driven through the git CLI, with deterministic commit dates."""

    def __init__(self, path: Path, bare: bool = False, init: bool = True) -> None:
        self.path = path
        self.clock = EPOCH
        if init:
            path.mkdir(parents=True, exist_ok=True)
            self.git("init", "-q", *(["--bare"] if bare else []))

    def git(self, *args: str, author: tuple[str, str] = ("Ada Lovelace", "ada@example.org"),
            stdin: bytes | None = None) -> str:
        """Run git here and return its output (stripped)."""
        when = f"@{self.clock} +0000"
        env = dict(os.environ, GIT_AUTHOR_NAME=author[0], GIT_AUTHOR_EMAIL=author[1], GIT_AUTHOR_DATE=when,
                   GIT_COMMITTER_NAME=author[0], GIT_COMMITTER_EMAIL=author[1], GIT_COMMITTER_DATE=when)
        out = subprocess.run(["git", "-C", str(self.path), *args], env=env, input=stdin, capture_output=True,
                             check=True)
        return out.stdout.decode("utf-8", "surrogateescape").strip()

    def write(self, files: dict[str | bytes, str | bytes | None]) -> None:
        """Write (or delete, for None) work tree files."""
        for name, content in files.items():
            path = Path(os.fsdecode(name)) if isinstance(name, bytes) else Path(name)
            target = self.path / path
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.encode() if isinstance(content, str) else content)

    def commit(self, files: dict[str | bytes, str | bytes | None], message: str = "change",
               author: tuple[str, str] = ("Ada Lovelace", "ada@example.org")) -> str:
        """Write files, stage everything and commit; returns the commit id."""
        self.write(files)
        self.git("add", "-A")
        self.clock += 3600
        self.git("commit", "-q", "--allow-empty", "-m", message, author=author)
        return self.git("rev-parse", "HEAD")


@dataclass
class Scan:
    """The result of scanning a path, and the git sources that did it."""

    result: ScanResult
    git: list[GitSource]

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The findings."""
        return self.result.findings

    @property
    def source(self) -> GitSource:
        """The single git source."""
        assert len(self.git) == 1, self.git
        return self.git[0]

    def reasons(self) -> list[str]:
        """The reason of every skipped item."""
        return [s.reason for s in self.result.skipped]


def scan(path: Path, matcher: Matcher, settings: Settings = Settings(), jobs: int = 1, **options: object) -> Scan:
    """Scan a path the way `tokenward scan` does (in-process; jobs > 1 forks worker processes)."""
    opts = SourceOptions(**{"ruleset": matcher.ruleset.digest, **options})  # type: ignore[arg-type]
    sources = sources_for(str(path), settings, opts)
    scanner = Scanner(matcher, Fingerprinter(load_key()), jobs=jobs)
    return Scan(scanner.run(sources), [s for s in sources if isinstance(s, GitSource)])


def of(findings: tuple[Finding, ...], token: str) -> list[Finding]:
    """The findings of one token."""
    token_id = Fingerprinter(load_key()).token_id(token.encode())
    return [f for f in findings if f.token_id == token_id]


def line(token: str) -> str:
    """A line of code leaking token."""
    return f'GITHUB_TOKEN = "{token}"\n'

