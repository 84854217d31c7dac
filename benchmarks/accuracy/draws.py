"""Recall audit: does each rule keep random values drawn from its own secret pattern?

    python benchmarks/accuracy/draws.py [--draws 400] [--seed 5] [--below 0.99] [--rule ID]

A rule's checks (entropy floors, digit counts, placeholder words…) trade recall for precision. This
audit measures the recall side rule by rule, from the rule alone: it draws --draws values at random
from the regex of the rule's `secret` group (each repeat's length uniform in its range, each character
uniform in its class), puts each in place of the secret of the rule's first example, and asks the
rule's checks whether they keep it. A value of a real key is one such draw, so a rule keeping fewer
than --below of its draws drops that share of real keys with the same format.

Only the statistical checks (STATISTICAL: entropy floors, character classes, digit counts, placeholder
words) are judged this way. The others verify a format's structure (checksums, UUID versions, JWT, PEM
and JWK contents, base64 that must decode to something) or read the context (generic and URI
passwords, which are not uniform draws of their regex): random draws fail them by design, so a rule
refused by one of them is listed last, marked, and is not a finding. The table lists every rule under
--below: rule, share kept, and for each refusing check the share of draws it refused.
"""

from __future__ import annotations

import argparse
import functools
import random
import re
import string
import sys
from collections import Counter
from pathlib import Path
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from tokenward.checks import build_check  # noqa: E402
from tokenward.rules.model import RuleSpec  # noqa: E402
from tokenward.rules.spec import load_rules  # noqa: E402

PRINTABLE = [c for c in string.printable if c not in "\t\n\r\x0b\x0c"]
CATEGORIES = {
    C.CATEGORY_DIGIT: string.digits,
    C.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    C.CATEGORY_SPACE: " ",
}
NEGATED = {C.CATEGORY_NOT_DIGIT: C.CATEGORY_DIGIT, C.CATEGORY_NOT_WORD: C.CATEGORY_WORD,
           C.CATEGORY_NOT_SPACE: C.CATEGORY_SPACE}
# Checks that judge a value by its letters alone: a random draw of the rule's own format should pass them.
STATISTICAL = frozenset({"min_digits", "min_entropy", "mixed_charset", "not_placeholder"})
UNBOUNDED_EXTRA = 16  # a `+` or `*` draws up to this many repeats past its minimum


def _charset(items: list[tuple[Any, Any]]) -> list[str]:
    """The characters an [...] class admits, within printable ASCII (worked out once per class)."""
    return _admitted(tuple(items))


@functools.cache
def _admitted(items: tuple[tuple[Any, Any], ...]) -> list[str]:
    chosen: set[str] = set()
    negate = False
    for op, av in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            chosen.add(chr(av))
        elif op is C.RANGE:
            chosen.update(chr(c) for c in range(av[0], av[1] + 1))
        elif op is C.CATEGORY:
            chosen.update(_category(av))
    if negate:
        return [c for c in PRINTABLE if c not in chosen]
    return sorted(c for c in chosen if c in PRINTABLE) or sorted(chosen)


def _category(av: Any) -> str:
    if av in NEGATED:
        inside = CATEGORIES[NEGATED[av]]
        return "".join(c for c in PRINTABLE if c not in inside)
    return CATEGORIES.get(av, string.ascii_letters)


class Drawer:
    """Random strings from a parsed regex (re._parser's tree)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.groups: dict[int, str] = {}

    def draw(self, tree: Any) -> str:
        return "".join(self._node(op, av) for op, av in tree)

    def _node(self, op: Any, av: Any) -> str:
        rng = self.rng
        if op is C.LITERAL:
            return chr(av)
        if op is C.NOT_LITERAL:
            return rng.choice([c for c in PRINTABLE if ord(c) != av])
        if op is C.ANY:
            return rng.choice(string.ascii_letters + string.digits)
        if op is C.IN:
            return rng.choice(_charset(av))
        if op is C.CATEGORY:
            return rng.choice(_category(av))
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            low, high, sub = av
            high = low + UNBOUNDED_EXTRA if high is C.MAXREPEAT else high
            return "".join(self.draw(sub) for _ in range(rng.randint(low, high)))
        if op is C.SUBPATTERN:
            text = self.draw(av[-1])
            if av[0] is not None:
                self.groups[av[0]] = text
            return text
        if op is C.BRANCH:
            return self.draw(rng.choice(av[1]))
        if op is C.GROUPREF:
            return self.groups.get(av, "")
        if op is getattr(C, "ATOMIC_GROUP", None):
            return self.draw(av)
        return ""  # anchors and lookarounds: the full-match filter below keeps the draws they allow


def secret_regex(pattern: str) -> str | None:
    """The text of the pattern's `secret` group (balanced parentheses after `(?P<secret>`)."""
    start = pattern.find("(?P<secret>")
    if start < 0:
        return None
    depth, i = 0, start
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        depth += (ch == "(") - (ch == ")")
        if depth == 0:
            return pattern[start + len("(?P<secret>"):i]
        i += 1
    return None


def _flags(pattern: str) -> str:
    m = re.match(r"\(\?([aiLmsux]+)\)", pattern)
    return f"(?{m.group(1)})" if m else ""


def audit(spec: RuleSpec, draws: int, rng: random.Random) -> tuple[float, Counter[str], int] | None:
    """(share of draws kept, refusals per check, draws made), or None when the rule cannot be drawn."""
    inner = secret_regex(spec.pattern)
    if inner is None or not spec.examples:
        return None
    full = re.compile(spec.pattern)
    example = spec.examples[0]
    m = full.search(example)
    if m is None:
        return None
    try:
        tree = P.parse(_flags(spec.pattern) + inner)
        fits = re.compile(_flags(spec.pattern) + "(?:" + inner + r")\Z")
    except re.error:
        return None
    checks = [(name, build_check(name, arg)) for name, arg in spec.checks]
    kept, made, refused = 0, 0, Counter[str]()
    for _ in range(draws * 5):
        value = Drawer(rng).draw(tree)
        if not fits.match(value):
            continue
        made += 1
        context = (example[:m.start("secret")] + value + example[m.end("secret"):]).encode()
        failing = [name for name, check in checks if not check(value.encode(), context)]
        refused.update(failing)
        kept += not failing
        if made == draws:
            break
    return (kept / made if made else 0.0), refused, made


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--draws", type=int, default=400)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--below", type=float, default=0.99)
    ap.add_argument("--rule", help="only this rule id")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    rows, skipped = [], []
    for spec in load_rules():
        if args.rule and spec.id != args.rule:
            continue
        result = audit(spec, args.draws, rng)
        if result is None or result[2] < args.draws // 4:
            skipped.append(spec.id)
            continue
        share, refused, made = result
        if share < args.below:
            structural = any(name not in STATISTICAL for name in refused)
            rows.append((structural, share, spec.id, made, refused))
    print("| rule | kept | draws | refused by (share of draws) | structure or context |\n|---|---:|---:|---|---|")
    for structural, share, rule, made, refused in sorted(rows, key=lambda r: (r[0], r[1])):
        why = ", ".join(f"{name} {n / made:.1%}" for name, n in refused.most_common())
        print(f"| {rule} | {share:.1%} | {made} | {why} | {'yes' if structural else ''} |")
    print(f"\n{len(rows)} rules under {args.below:.0%}; {len(skipped)} not drawn (no example, no secret group, "
          f"or the draws rarely fit the pattern)")


if __name__ == "__main__":
    main()
