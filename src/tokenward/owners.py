"""Owner mapping: manifest entry > CODEOWNERS rule for the occurrence's path > provider-reported owner >
author of the commit that introduced the token (marked inferred)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CODEOWNERS_PLACES = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")


@dataclass(frozen=True)
class OwnerRule:
    """One CODEOWNERS line: a path pattern and its owners (the last matching rule wins)."""

    pattern: str
    regex: re.Pattern[str]
    owners: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Owner:
    """Who owns a token and how we know: manifest | codeowners | provider | inferred."""

    name: str
    basis: str
    evidence: str


def _glob(pattern: str) -> str:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        else:
            c = pattern[i]
            out += "[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c)
            i += 1
    return out


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """gitignore-style CODEOWNERS pattern → regex over repository-relative paths."""
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    body = pattern.strip("/")
    directory = pattern.endswith("/")
    prefix = "^" if anchored else "^(?:.*/)?"
    suffix = "/.*$" if directory else "(?:/.*)?$"
    if body.endswith("/*") and not body.endswith("/**"):
        suffix = "$"  # docs/* matches direct children only
    return re.compile(prefix + _glob(body) + suffix)


def parse_codeowners(text: str) -> tuple[OwnerRule, ...]:
    """Rules of a CODEOWNERS file (comments, blank lines and GitLab [Section] headers skipped)."""
    rules = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "[", "^[")):
            continue
        parts = line.split()
        pattern = parts[0].replace("\\ ", " ")
        rules.append(OwnerRule(pattern, pattern_regex(pattern), tuple(parts[1:]), n))
    return tuple(rules)


def owners_for(rules: Iterable[OwnerRule], path: str) -> OwnerRule | None:
    """The last rule matching path (a rule without owners un-owns the path)."""
    found = None
    for rule in rules:
        if rule.regex.match(path.lstrip("/")):
            found = rule
    return found


@lru_cache(maxsize=256)
def codeowners_of(root: str) -> tuple[str, tuple[OwnerRule, ...]] | None:
    """(file, rules) of the CODEOWNERS file in a checked-out repository or directory, if any."""
    for place in CODEOWNERS_PLACES:
        p = Path(root) / place
        try:
            if p.is_file():
                return place, parse_codeowners(p.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    return None


def codeowner(root: str, path: str, extra: tuple[OwnerRule, ...] = ()) -> Owner | None:
    """The CODEOWNERS owner of path in the source rooted at root (extra rules from --codeowners win)."""
    found = codeowners_of(root) if root and not root.startswith(("stdin", "http")) else None
    name, rules = found if found else ("CODEOWNERS", ())
    rule = owners_for((*rules, *extra), path)
    if rule is None or not rule.owners:
        return None
    return Owner(" ".join(rule.owners), "codeowners", f"{name}:{rule.line} {rule.pattern} matches {path}")


def map_owner(declared: str | None, declared_where: str | None, codeowners: Owner | None,
              provider: str | None, author: tuple[str, str] | None) -> Owner | None:
    """Apply the precedence: manifest > CODEOWNERS > provider-reported > commit author (inferred)."""
    if declared:
        return Owner(declared, "manifest", declared_where or "tokens.yaml")
    if codeowners:
        return codeowners
    if provider:
        return Owner(provider, "provider", "token owner reported by the provider")
    if author:
        return Owner(author[0], "inferred", f"author of commit {author[1][:12]} that introduced it")
    return None
