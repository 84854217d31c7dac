"""Planting generated tokens in sample inputs, and scanning them in-process (helpers for the expand tests)."""

from __future__ import annotations

import string
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from tests.tokens import ALNUM, URLSAFE, TokenFactory
from tokenward.engine import Matcher
from tokenward.expand import ExpandOptions, expand
from tokenward.findings import Finding
from tokenward.identity import Fingerprinter
from tokenward.scanner import Scanner
from tokenward.sources.filesystem import FilesystemSource
from tokenward.sources.interface import Blob, SkippedItem


@dataclass
class Planter:
    """Hands out fresh generated tokens and remembers which sample row each was planted in."""

    seed: int = 101
    planted: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        self.factory = TokenFactory(self.seed)
        self._round = 0

    def github(self, row: str) -> str:
        """A new checksummed GitHub token planted in row."""
        token = self.factory.github_classic()
        self.planted[row].append(token)
        return token

    def provider_line(self, row: str) -> tuple[str, str]:
        """(assignment line, secret) of a provider-format token (cycling through formats) planted in row."""
        c = self.factory.chars
        formats: list[Callable[[], tuple[str, str]]] = [
            lambda: ("GITLAB_TOKEN", "glpat-" + c(ALNUM, 20)),
            lambda: ("SLACK_BOT_TOKEN", f"xoxb-{c(string.digits, 12)}-{c(string.digits, 13)}-{c(ALNUM, 24)}"),
            lambda: ("STRIPE_KEY", "sk_live_" + c(ALNUM, 99)),
            lambda: ("OPENAI_API_KEY", f"sk-proj-{c(URLSAFE, 74)}T3BlbkFJ{c(URLSAFE, 74)}"),
            lambda: ("GH_PAT", f"github_pat_{c(ALNUM, 22)}_{c(ALNUM, 59)}"),
        ]
        name, secret = formats[self._round % len(formats)]()
        self._round += 1
        self.planted[row].append(secret)
        return f"{name}={secret}", secret


def scanner_for(matcher: Matcher) -> Scanner:
    """An in-process scanner that keeps plaintext (tests compare found secrets with planted ones)."""
    return Scanner(matcher, Fingerprinter(b"k" * 32), show_secrets=True, jobs=1)


def probed(matcher: Matcher, options: ExpandOptions | None = None) -> ExpandOptions:
    """Options with the rule database as the exports' probe, as `tokenward scan` builds them."""
    return replace(options or ExpandOptions(), probe=matcher.ruleset)


@dataclass(frozen=True)
class Outcome:
    """Findings and skips of scanning some inputs."""

    findings: list[Finding]
    skipped: list[SkippedItem]

    def secrets(self) -> set[str]:
        """The plaintext of every finding."""
        return {f.secret or "" for f in self.findings}

    def of(self, secret: str) -> list[Finding]:
        """Findings whose secret contains the planted secret (provider rules may capture a suffix)."""
        return [f for f in self.findings if f.secret and (secret in f.secret or f.secret in secret)]

    def details(self, secret: str) -> dict[str, str]:
        """The details of the first finding of secret, without the format (see fmt)."""
        found = self.of(secret)
        assert found, f"planted token not found: {secret[:8]}…"
        return {k: v for k, v in found[0].origin.details if k != "format"}

    def fmt(self, secret: str) -> str:
        """The format the first finding of secret was read as ('' for plain files)."""
        found = self.of(secret)
        assert found, f"planted token not found: {secret[:8]}…"
        return dict(found[0].origin.details).get("format", "")

    def reasons(self) -> list[str]:
        """Every skip reason."""
        return [s.reason for s in self.skipped]


def scan_blobs(matcher: Matcher, items: Iterable[Blob | SkippedItem]) -> Outcome:
    """Match already expanded items."""
    scanner = scanner_for(matcher)
    findings: list[Finding] = []
    skipped: list[SkippedItem] = []
    for item in items:
        if isinstance(item, SkippedItem):
            skipped.append(item)
        else:
            findings.extend(scanner.scan_blob(item))
    return Outcome(findings, skipped)


def scan_path(matcher: Matcher, path: Path, options: ExpandOptions | None = None) -> Outcome:
    """Read a file or folder like `tokenward scan` does and expand every blob (with options when given)."""
    opts = options if options is not None else probed(matcher)
    expanded = (out for item in FilesystemSource(path)
                for out in ([item] if isinstance(item, SkippedItem) else expand(item, opts)))
    return scan_blobs(matcher, expanded)


def recall(outcome: Outcome, planted: Iterable[str]) -> float:
    """The share of planted secrets that were found."""
    tokens = list(planted)
    found = sum(1 for t in tokens if outcome.of(t))
    return found / len(tokens) if tokens else 1.0
