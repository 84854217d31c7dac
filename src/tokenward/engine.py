"""The matcher: Hyperscan finds candidate ends, each rule's regex confirms on a bounded window."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from tokenward.rules.compile import CompiledRule, CompiledRuleSet
from tokenward.rules.model import CONTEXT

MARGIN = CONTEXT
MAX_HITS_PER_RULE = 20_000
MAX_MATCHES_PER_RULE = 1_000
GENERIC_TIER, PROVIDER_TIER = 0, 2


Windows = tuple[tuple[int, int], ...] | None
"""Byte ranges of a buffer that Hyperscan reads (None: all of it); see Blob.windows."""
Hits = dict[int, list[int]]
"""Hit ends (ascending, at most MAX_HITS_PER_RULE) per expression of the rule set's database."""


@dataclass(frozen=True)
class RawMatch:
    """A confirmed match. Holds plaintext: it must not outlive the fingerprint step."""

    rule: CompiledRule
    start: int
    end: int
    secret_start: int
    secret_end: int
    secret: bytes
    public_id: bytes | None
    checksum_valid: bool = True  # False: the provider's format but a wrong checksum (a look-alike)


def _merged(spans: Iterator[tuple[int, int]]) -> list[tuple[int, int]]:
    """Ascending (lo, hi) spans, overlapping ones merged."""
    merged: list[tuple[int, int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _windows(ends: list[int], width: int, size: int, after: int) -> list[tuple[int, int]]:
    """Merge the confirmation windows [end - width - margin, end + after + margin] of sorted hit ends
    (`after` is 0 for a whole-pattern hit, the rule's width for a keyword hit inside the match)."""
    return _merged((max(0, end - width - MARGIN), min(size, end + after + MARGIN)) for end in ends)


def _line_windows(data: bytes, ends: list[int], width: int, lookahead: bool) -> list[tuple[int, int]]:
    """_windows(ends, width, len(data), 0) for a whole-pattern rule whose matches stay on one line
    (rules.lines): each window also stops at the newline before the hit and just after the newline after
    it (a margin further when the pattern looks ahead), so the regex is not tried at every byte of the
    lines around it. A match holding its hit's end lies on that line, its edge newlines included."""
    size, past = len(data), 1 + (MARGIN if lookahead else 0)

    def span(end: int) -> tuple[int, int]:
        lo, hi = max(0, end - width - MARGIN), min(size, end + MARGIN)
        nl = data.find(b"\n", end, hi)
        return max(lo, data.rfind(b"\n", lo, max(lo, end - 1))), hi if nl < 0 else min(hi, nl + past)

    return _merged(map(span, ends))


def _secret_group(rule: CompiledRule, m: re.Match[bytes]) -> str:
    # A keyword-context rule whose keyword may follow the value names that value secret_after.
    if m.start("secret") >= 0 or "secret_after" not in rule.regex.groupindex:
        return "secret"
    return "secret_after"


def _keyword_matches(rule: CompiledRule, data: bytes, ends: list[int]) -> Iterator[re.Match[bytes]]:
    """A keyword-first rule's matches: each starts where a keyword hit does (end minus the keyword's
    length), so the regex is tried there only instead of at every byte of a window; a match hides
    the hits inside it, as finditer's would."""
    starts = sorted({end - n for end in ends for n in rule.keyword_lengths if end >= n})
    taken = 0
    for start in starts:
        if start < taken:
            continue
        m = rule.regex.match(data, start, min(len(data), start + rule.window))
        if m is not None and m.end() > m.start():
            taken = m.end()
            yield m


def _rule_windows(rule: CompiledRule, data: bytes, ends: list[int]) -> list[tuple[int, int]]:
    """Where a rule's regex looks for matches around its hit ends (see _windows, _line_windows)."""
    if rule.spec.gated:
        return _windows(ends, rule.window, len(data), rule.window)
    if rule.one_line:
        return _line_windows(data, ends, rule.window, rule.looks_ahead)
    return _windows(ends, rule.window, len(data), 0)


def _candidates(rule: CompiledRule, data: bytes, ends: list[int]) -> Iterator[re.Match[bytes]]:
    """Regex matches near the hit ends: at keyword starts for keyword-first rules, else anywhere in
    the merged windows around the ends, skipping the windows the rule's gate (rules.gates) rules out."""
    if rule.spec.keyword_first:
        yield from _keyword_matches(rule, data, ends)
        return
    gate = rule.gate
    for lo, hi in _rule_windows(rule, data, ends):
        if gate is None:
            yield from rule.regex.finditer(data, lo, hi)
        elif gate.ready:
            if gate.may_match(data, lo, hi):
                yield from rule.regex.finditer(data, lo, hi)
        else:  # not hot yet: time the regex, which builds the gate once the rule has cost enough
            started = time.perf_counter()
            found = list(rule.regex.finditer(data, lo, hi))
            gate.timed(started)
            yield from found


def _confirm(rule: CompiledRule, data: bytes, ends: list[int], rejected: list[tuple[int, int]],
             lookalikes: bool = False) -> list[RawMatch]:
    """Confirmed matches of one rule; spans a provider rule's checks rejected are added to `rejected`.
    With `lookalikes`, a candidate failing only a checksum check is kept, marked checksum_valid=False."""
    found: dict[tuple[int, int], RawMatch] = {}
    for m in _candidates(rule, data, ends):
        group = _secret_group(rule, m)
        secret = m.group(group)
        if not secret or (m.start(), m.end()) in found:
            continue
        valid = rule.accepts(secret, m.group(0))
        if not valid:
            if rule.spec.tier == PROVIDER_TIER:
                rejected.append(m.span(group))
            if not (lookalikes and rule.checksum_lookalike(secret, m.group(0))):
                continue
        pid = m.group("id") if "id" in rule.regex.groupindex else None
        found[(m.start(), m.end())] = RawMatch(
            rule, m.start(), m.end(), m.start(group), m.end(group), secret, pid, valid)
        if len(found) >= MAX_MATCHES_PER_RULE:
            return list(found.values())
    return list(found.values())


def _drop_generic_on_rejected(matches: list[RawMatch], rejected: list[tuple[int, int]]) -> list[RawMatch]:
    # A value shaped like a provider's token whose checksum (or other format check) fails is not that
    # token, and not "some generic secret" either: the generic rules must not pick it up instead.
    def hit(m: RawMatch) -> bool:
        return any(m.secret_start < hi and lo < m.secret_end for lo, hi in rejected)
    return [m for m in matches if m.rule.spec.tier != GENERIC_TIER or not hit(m)]


def _overlaps(a: RawMatch, b: RawMatch) -> bool:
    return a.secret_start < b.secret_end and b.secret_start < a.secret_end


def resolve_overlaps(matches: list[RawMatch]) -> list[RawMatch]:
    """Keep, among matches whose secrets overlap, only the most specific rule's match."""
    ranked = sorted(matches, key=lambda m: (m.rule.priority, m.secret_end - m.secret_start), reverse=True)
    kept: list[RawMatch] = []
    for m in ranked:
        if not any(_overlaps(m, k) for k in kept):
            kept.append(m)
    return sorted(kept, key=lambda m: (m.secret_start, m.rule.spec.id))


def _attach_pairs(matches: list[RawMatch], rules: dict[str, CompiledRule]) -> list[RawMatch]:
    out = []
    for m in matches:
        pair = m.rule.spec.pair
        if pair is None or m.public_id is not None:
            out.append(m)
            continue
        near = [o for o in matches if o.rule.spec.id == pair.rule and abs(o.start - m.start) <= pair.within]
        if near:
            best = min(near, key=lambda o: abs(o.start - m.start))
            m = RawMatch(m.rule, m.start, m.end, m.secret_start, m.secret_end, m.secret, best.secret,
                         m.checksum_valid)
        out.append(m)
    return out


def _by_rule(hits: dict[int, list[int]], targets: tuple[tuple[int, ...], ...]
             ) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Hit ends per expression → per rule (an expression may stand for several rules, a rule for
    several expressions: its keywords), and per extra expression (numbered from 0) apart."""
    rules: dict[int, list[int]] = {}
    extra: dict[int, list[int]] = {}
    merged: set[int] = set()
    for expression, ends in hits.items():
        if expression >= len(targets):
            extra[expression - len(targets)] = ends
            continue
        for rule in targets[expression]:
            if rule in rules:
                rules[rule] = rules[rule] + ends
                merged.add(rule)
            else:
                rules[rule] = ends
    for rule in merged:
        rules[rule] = sorted(rules[rule])[:MAX_HITS_PER_RULE]
    return rules, extra


class Matcher:
    """Scans byte buffers against a compiled rule set."""

    def __init__(self, ruleset: CompiledRuleSet, lookalikes: bool = False) -> None:
        """`lookalikes`: also return provider-format values whose checksum is wrong (checksum_valid
        False) instead of dropping them — for audits at --min-confidence low."""
        self.ruleset = ruleset
        self.lookalikes = lookalikes
        self._by_id = ruleset.by_id()

    def hits(self, data: bytes, windows: Windows = None) -> Hits:
        """Hyperscan's hit ends per expression of the database, in data's offsets (whether the whole
        of data or only its windows are read); empty when nothing hit, which most inputs are."""
        hits: Hits = {}
        shift = 0

        def on_match(expression: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            bucket = hits.get(expression)
            if bucket is None:
                hits[expression] = [end + shift]
            elif len(bucket) < MAX_HITS_PER_RULE:
                bucket.append(end + shift)

        if windows is None:
            self.ruleset.database.scan(data, match_event_handler=on_match)
        else:
            for shift, end in windows:
                self.ruleset.database.scan(data[shift:end], match_event_handler=on_match)
        return hits

    def scan(self, data: bytes, windows: Windows = None, hits: Hits | None = None) -> list[RawMatch]:
        """Every confirmed, check-passing, overlap-resolved match in data (with windows, only the
        matches Hyperscan finds inside them; each is confirmed on data itself). `hits`: what
        hits(data, windows) returned, when the caller already asked."""
        return self.scan_extra(data, windows, hits)[0]

    def scan_extra(self, data: bytes, windows: Windows = None, hits: Hits | None = None
                   ) -> tuple[list[RawMatch], dict[int, list[int]]]:
        """scan(), plus the sorted hit ends of each extra expression of the rule set (compile_rules'
        `extra`, numbered from 0) found in the same pass."""
        if not data:
            return [], {}
        rules, extra = _by_rule(self.hits(data, windows) if hits is None else hits, self.ruleset.targets)
        return self._confirmed(data, rules), extra

    def _confirmed(self, data: bytes, hits: dict[int, list[int]]) -> list[RawMatch]:
        matches: list[RawMatch] = []
        rejected: list[tuple[int, int]] = []
        # Rule order, not hit order: overlap ties then go to the rule written first, whatever
        # the database reports first.
        for index, ends in sorted(hits.items()):
            matches.extend(_confirm(self.ruleset.rules[index], data, ends, rejected, self.lookalikes))
        if rejected:
            matches = _drop_generic_on_rejected(matches, rejected)
        if not matches:
            return []
        return _attach_pairs(resolve_overlaps(matches), self._by_id)
