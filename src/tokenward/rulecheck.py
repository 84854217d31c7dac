"""`tokenward rules check`: run every rule's examples and negative examples through the engine."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from tokenward.engine import Matcher
from tokenward.errors import RuleError
from tokenward.rules.compile import compile_rules
from tokenward.rules.spec import RuleSpec, common_keywords


@dataclass(frozen=True)
class RuleProblem:
    """One failed expectation of one rule."""

    rule_id: str
    source_file: str
    message: str


def _keyword_problems(spec: RuleSpec) -> list[RuleProblem]:
    problems = []
    for i, example in enumerate(spec.examples):
        if not any(k.lower() in example.lower() for k in spec.keywords):
            problems.append(RuleProblem(spec.id, spec.source_file, f"example {i}: no keyword present"))
    return problems


def _common_keyword_problems(spec: RuleSpec) -> list[RuleProblem]:
    # A gated rule runs its regex at every keyword hit: a common word makes that a hot loop.
    common = common_keywords(spec.keywords) if spec.gated else []
    return [RuleProblem(spec.id, spec.source_file, f"keyword {w!r} is too common to gate on "
                        "(use a more specific spelling, or a whole pattern)") for w in common]


def _gating_problems(spec: RuleSpec, index: int, example: bytes, matcher: Matcher) -> list[RuleProblem]:
    # A keyword-gated rule is only looked for near its keywords: every match must contain one.
    words = [k.lower().encode() for k in spec.keywords]
    for m in matcher.scan(example):
        if m.rule.spec.id == spec.id and not any(w in example[m.start:m.end].lower() for w in words):
            return [RuleProblem(spec.id, spec.source_file, f"example {index}: match holds no keyword")]
    return []


def _prefilter_problems(spec: RuleSpec, index: int, example: bytes) -> list[RuleProblem]:
    # Hyperscan runs the prefilter_pattern instead of the pattern, and the pattern is confirmed on a
    # window ending at each hit: every match of the pattern must end where a prefilter match ends.
    pattern, stand_in = re.compile(spec.pattern.encode()), re.compile(spec.prefilter_pattern.encode())
    for m in pattern.finditer(example):
        if not any(stand_in.fullmatch(example, start, m.end()) for start in range(m.start(), m.end() + 1)):
            return [RuleProblem(spec.id, spec.source_file,
                                f"example {index}: no prefilter_pattern match ends where the pattern's does")]
    return []


def _example_problems(spec: RuleSpec, matcher: Matcher) -> list[RuleProblem]:
    problems = []
    for i, example in enumerate(spec.examples):
        if spec.prefilter_pattern:
            problems.extend(_prefilter_problems(spec, i, example.encode()))
        if spec.gated:
            problems.extend(_gating_problems(spec, i, example.encode(), matcher))
        got = {m.rule.spec.id for m in matcher.scan(example.encode())}
        if spec.id not in got:
            other = f" (matched instead: {', '.join(sorted(got))})" if got else ""
            problems.append(RuleProblem(spec.id, spec.source_file, f"example {i} does not match{other}"))
    for i, negative in enumerate(spec.negative_examples):
        if spec.id in {m.rule.spec.id for m in matcher.scan(negative.encode())}:
            problems.append(RuleProblem(spec.id, spec.source_file, f"negative example {i} matches"))
    return problems


def _duplicate_problems(specs: list[RuleSpec]) -> list[RuleProblem]:
    where: dict[str, list[str]] = defaultdict(list)
    for s in specs:
        where[s.id].append(s.source_file)
    return [RuleProblem(rid, files[1], f"id defined {len(files)} times: {', '.join(files)}")
            for rid, files in where.items() if len(files) > 1]


def check_rules(specs: list[RuleSpec]) -> list[RuleProblem]:
    """Every problem with a rule set: duplicate ids, bad examples/negatives/keywords, compile errors."""
    problems = _duplicate_problems(specs)
    try:
        matcher = Matcher(compile_rules(specs, cache=False))
    except RuleError as exc:
        return [*problems, RuleProblem("*", "*", str(exc))]
    for spec in specs:
        problems.extend(_keyword_problems(spec))
        problems.extend(_common_keyword_problems(spec))
        problems.extend(_example_problems(spec, matcher))
    return problems
