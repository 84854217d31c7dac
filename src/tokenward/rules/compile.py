"""Compile a rule set: one Hyperscan database for all rules plus each rule's own Python regex."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import hyperscan

from tokenward.checks import CHECKSUM_CHECKS, build_check
from tokenward.checks.interface import Check
from tokenward.errors import RuleError
from tokenward.rules import diskcache
from tokenward.rules.gates import Gate
from tokenward.rules.lines import line_shape
from tokenward.rules.model import pattern_width
from tokenward.rules.spec import RuleSpec, confidence_rank, ruleset_hash

LOOKAROUND = re.compile(r"\(\?<?[=!]")


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to run: its spec, Python regex, built checks and confirmation window."""

    spec: RuleSpec
    checks: tuple[Check, ...]
    priority: tuple[int, int, int]
    checksums: tuple[Check, ...] = ()  # the subset of `checks` that verify a format checksum

    # Compiled on a rule's first hit: most rules never fire in a given scan, and compiling a
    # thousand regexes up front would be most of a small scan's start-up.
    @functools.cached_property
    def regex(self) -> re.Pattern[bytes]:
        """The rule's Python regex (confirms Hyperscan hits and extracts the groups)."""
        return re.compile(self.spec.pattern.encode())

    @functools.cached_property
    def keyword_lengths(self) -> tuple[int, ...]:
        """The byte lengths of the rule's keywords (where a keyword hit ending at e may start)."""
        return tuple(sorted({len(k.encode()) for k in self.spec.keywords}))

    @functools.cached_property
    def gate(self) -> Gate | None:
        """This process's confirmation gate of the rule (rules.gates), for rules whose Hyperscan hit is only a
        hint that the regex matches nearby: a keyword hit (gated rules), a stand-in's (prefilter_pattern).
        Keyword-first rules try their regex at keyword starts only, which costs little already."""
        spec = self.spec
        if spec.keyword_first or not (spec.gated or spec.prefilter_pattern):
            return None
        return Gate(spec.pattern)

    @functools.cached_property
    def one_line(self) -> bool:
        """Whether every match of the regex stays on one line, newlines only at its edges (rules.lines)."""
        return line_shape(self.spec.pattern)[0]

    @functools.cached_property
    def looks_ahead(self) -> bool:
        """Whether the regex holds a lookahead (it may read past a match's end)."""
        return line_shape(self.spec.pattern)[1]

    @functools.cached_property
    def window(self) -> int:
        """The longest match the regex can make, capped at MAX_WINDOW bytes."""
        return self.spec.max_width or pattern_width(self.spec.pattern)

    def accepts(self, secret: bytes, context: bytes) -> bool:
        """True when every check of the rule keeps this candidate."""
        return all(check(secret, context) for check in self.checks)

    def checksum_lookalike(self, secret: bytes, context: bytes) -> bool:
        """True when only the rule's checksum checks reject this candidate (a look-alike)."""
        if not self.checksums:
            return False
        others = (c for c in self.checks if c not in self.checksums)
        return all(c(secret, context) for c in others) and not all(c(secret, context) for c in self.checksums)


@dataclass(frozen=True)
class CompiledRuleSet:
    """All rules plus the Hyperscan database whose pattern ids index into `rules`."""

    rules: tuple[CompiledRule, ...]
    database: Any  # expression i of the database stands for the rules targets[i]
    digest: str
    targets: tuple[tuple[int, ...], ...]
    extra: int = 0  # expressions after the rules' (from len(targets) on) that are not rules: see compile_rules

    def by_id(self) -> dict[str, CompiledRule]:
        """Rules keyed by rule id."""
        return {r.spec.id: r for r in self.rules}


def compile_rule(spec: RuleSpec) -> CompiledRule:
    """Build the Python side of one rule (regex, checks, window, priority)."""
    checks = tuple(build_check(name, arg) for name, arg in spec.checks)
    checksums = tuple(c for c, (name, _arg) in zip(checks, spec.checks, strict=True) if name in CHECKSUM_CHECKS)
    priority = (
        spec.tier,
        confidence_rank(spec.confidence),
        max(len(k) for k in spec.keywords),
    )
    return CompiledRule(spec, checks, priority, checksums)


def _hs_flags(pattern: str) -> int:
    flags = 0
    if LOOKAROUND.search(pattern):
        flags |= hyperscan.HS_FLAG_PREFILTER
    return flags


def _hs_compile(patterns: list[bytes], flags: list[int], ids: list[int] | None = None) -> Any:
    db = hyperscan.Database()
    ids = list(range(len(patterns))) if ids is None else ids
    db.compile(expressions=patterns, ids=ids, elements=len(patterns), flags=flags)
    return db


def _find_bad_pattern(specs: list[RuleSpec]) -> str:
    for spec in specs:
        if spec.gated:
            continue
        try:
            _hs_compile([spec.pattern.encode()], [_hs_flags(spec.pattern)])
        except hyperscan.error as exc:
            return f"rule {spec.id}: {exc}"
    return "the combined database is too large"


@dataclass(frozen=True)
class Expressions:
    """What goes into the Hyperscan database: expression i has flags[i] and stands for rules targets[i]."""

    patterns: tuple[bytes, ...]
    flags: tuple[int, ...]
    targets: tuple[tuple[int, ...], ...]


def expressions(specs: list[RuleSpec]) -> Expressions:
    """Hyperscan expressions, flags and the rule indices each stands for: a gated rule contributes its
    keywords as caseless literals (its regex then runs only near them), any other rule its whole pattern
    (or the prefilter_pattern standing in for it). A keyword several rules share is one expression: every
    extra literal slows the literal matcher."""
    patterns: list[bytes] = []
    flags: list[int] = []
    targets: list[list[int]] = []
    literal_at: dict[bytes, int] = {}
    for index, spec in enumerate(specs):
        if not spec.gated:
            patterns.append(spec.scan_pattern.encode())
            flags.append(_hs_flags(spec.scan_pattern))
            targets.append([index])
            continue
        for word in dict.fromkeys(k.lower() for k in spec.keywords):
            literal = re.escape(word.encode())
            if literal in literal_at:
                shared = targets[literal_at[literal]]
                if shared[-1] != index:
                    shared.append(index)
                continue
            literal_at[literal] = len(patterns)
            patterns.append(literal)
            flags.append(hyperscan.HS_FLAG_CASELESS)
            targets.append([index])
    return Expressions(tuple(patterns), tuple(flags), tuple(tuple(t) for t in targets))


def build_database(specs: list[RuleSpec], cache: bool = True, on_compile: Callable[[int], None] | None = None,
                   exprs: Expressions | None = None) -> Any:
    """Compile (or load from the on-disk cache) the Hyperscan database of all specs' expressions;
    on_compile(number of rules) is called when it really has to compile (a first run)."""
    exprs = exprs or expressions(specs)
    patterns, flags = list(exprs.patterns), list(exprs.flags)
    key = hashlib.sha256(repr((patterns, flags, getattr(hyperscan, '__version__', '?'))).encode()).hexdigest()[:24]
    name = f"hs-{key}.db"
    blob = diskcache.read(name) if cache else None
    if blob is not None:
        try:
            db = hyperscan.loadb(blob, hyperscan.HS_MODE_BLOCK)
            db.scratch = hyperscan.Scratch(db)  # a loaded database comes without scratch space
            return db
        except (hyperscan.error, ValueError, TypeError):
            pass  # a stale or corrupt cache entry is simply rebuilt
    if on_compile is not None:
        on_compile(len(specs))
    try:
        db = _hs_compile(patterns, flags)
    except hyperscan.error as exc:
        raise RuleError(f"rule set does not compile in Hyperscan: {exc} ({_find_bad_pattern(specs)})") from None
    if cache:
        diskcache.write(name, hyperscan.dumpb(db))
    return db


def compile_rules(specs: list[RuleSpec], cache: bool = True, on_compile: Callable[[int], None] | None = None,
                  extra: Sequence[tuple[bytes, int]] = ()) -> CompiledRuleSet:
    """Compile a whole rule set; RuleError names the first rule that fails. `extra` (Hyperscan regex,
    flags) pairs ride along in the same database after the rules' expressions, so a caller that needs
    other hits in the same bytes (the decoding pass's candidates) gets them without a second pass."""
    compiled = []
    for spec in specs:
        try:
            compiled.append(compile_rule(spec))
        except RuleError as exc:
            raise RuleError(f"{spec.source_file}: rule {spec.id}: {exc}") from None
    exprs = expressions(specs)
    both = Expressions(exprs.patterns + tuple(p for p, _ in extra), exprs.flags + tuple(f for _, f in extra),
                       exprs.targets)
    return CompiledRuleSet(tuple(compiled), build_database(specs, cache, on_compile, both), ruleset_hash(specs),
                           exprs.targets, len(extra))
