"""What a rule is once parsed: the frozen RuleSpec, its constants, and the keyword-context regex form.

Imported by the loader (spec.py), the file schema (schema.py) and everything that runs rules; it needs
neither pydantic nor YAML.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*\.[a-z0-9][a-z0-9.-]*$")
Confidence = Literal["high", "medium", "low"]
CONFIDENCE_ORDER: tuple[Confidence, ...] = ("low", "medium", "high")  # the one order of confidence labels
STRUCTURAL_PROVIDERS = frozenset({"jwt", "uri"})
DEFAULT_WITHIN, MAX_WITHIN = 40, 256
MIN_GATED_KEYWORD = 3
MAX_WINDOW = 4096  # the longest match the engine confirms (a rule's regex width is capped here)
CONTEXT = 64  # bytes around a match that can decide it: lookarounds, the confirmation window's margin
# How far one changed byte can reach: any match touching it, with what decides that match, lies within
# REACH bytes of it (see sources/gitpack.py).
REACH = MAX_WINDOW + CONTEXT + 16
# A value next to a keyword ends where the token alphabet ends: letters, digits and `_ + / -`.
_BEFORE, _AFTER = r"(?<![\w+/-])", r"(?![\w+/-])"


def near_pattern(keywords: Iterable[str], secret: str, within: int, after: int = 0) -> str:
    """The regex of a keyword-context rule: a keyword, then within `within` bytes (any, newlines
    included: YAML nesting, k8s name/value pairs) a value matching `secret` that stands alone.
    With `after` > 0 the keyword may instead follow the value within `after` bytes (a curl line
    naming the provider's host after the header); that value is the group `secret_after`."""
    words = [_word_start(word) for word in sorted(keywords, key=len, reverse=True)]
    keyword = f"(?:{'|'.join(words)})"
    before = f"{keyword}.{{0,{within}}}?{_BEFORE}(?P<secret>(?-i:{secret})){_AFTER}"
    if not after:
        return f"(?is){before}"
    return f"(?is)(?:{before}|{_BEFORE}(?P<secret_after>(?-i:{secret})){_AFTER}.{{0,{after}}}?{keyword})"


def _word_start(word: str) -> str:
    # Keywords would fire inside ordinary words ("ably" in "probably", "tmetric" in "FontMetrics"):
    # they must start one — after a non-letter, after Java's -D, or as a capitalised camelCase part
    # ("createAblyClient")...
    head, rest = word[0], re.escape(word[1:])
    # A camelCase part must also end where the part ends ("rdbLoadMillisecond" holds no "loadmill");
    # after a separator a brand may run on ("openweathermap", "aivenv1").
    end = "(?-i:(?![a-z]))" if word[-1].isalpha() else ""
    if not head.isalpha():
        return re.escape(word)
    return rf"(?:(?:(?<![A-Za-z])|(?<=-D)){re.escape(head)}{rest}|(?<=[a-z])(?-i:{head.upper()}){rest}{end})"


def _check_secret_form(secret: str) -> None:
    try:
        compiled = re.compile(secret.encode())
    except re.error as exc:
        raise ValueError(f"secret does not compile: {exc}") from exc
    if compiled.groupindex:
        raise ValueError("'secret' is the value's own regex: no named groups (the rule adds them)")


def confidence_rank(confidence: str) -> int:
    """The position of a confidence label in CONFIDENCE_ORDER: low 0, medium 1, high 2."""
    return CONFIDENCE_ORDER.index(confidence)


def pattern_width(pattern: str) -> int:
    """The longest match a rule pattern can make, in bytes, capped at MAX_WINDOW."""
    # re._parser is the only stdlib way to get a pattern's width bound (of the bytes pattern the engine runs).
    parser = importlib.import_module("re._parser")
    _lo, hi = parser.parse(pattern.encode().decode("latin-1")).getwidth()
    return min(int(hi), MAX_WINDOW)


@dataclass(frozen=True)
class PairSpec:
    """Attach the public id of a nearby match of another rule (e.g. AWS key id + secret)."""

    rule: str
    within: int


@dataclass(frozen=True)
class RuleSpec:
    """One detection rule as parsed from a rule file."""

    id: str
    name: str
    provider: str
    provider_name: str
    kind: str
    pattern: str
    keywords: tuple[str, ...]
    checks: tuple[tuple[str, Any], ...]
    confidence: Confidence
    environment: str | None
    privilege: str | None
    pair: PairSpec | None
    references: tuple[str, ...]
    examples: tuple[str, ...]
    negative_examples: tuple[str, ...]
    source_file: str
    gated: bool = False
    aliases: tuple[str, ...] = ()
    description: str = ""
    keyword_first: bool = False  # a keyword-context rule without `after`: every match starts with a keyword
    prefilter_pattern: str = ""  # what Hyperscan looks for instead of `pattern` (ends wherever it ends)
    # pattern_width(pattern), measured when the rule file is parsed and kept in the rule cache: every worker
    # needed it for every rule it confirmed (a second parse of the regex); 0 when not measured
    max_width: int = 0

    @property
    def scan_pattern(self) -> str:
        """The expression the rule contributes to the Hyperscan database when it is not gated."""
        return self.prefilter_pattern or self.pattern

    @property
    def generic(self) -> bool:
        """True for rules that match by context rather than by a provider-specific format."""
        return self.provider == "generic"

    @property
    def tier(self) -> int:
        """Specificity tier for overlap resolution: generic 0, structural (jwt, uri) 1, provider 2."""
        if self.generic:
            return 0
        return 1 if self.provider in STRUCTURAL_PROVIDERS else 2


@functools.cache
def _common_words() -> frozenset[str]:
    text = (Path(__file__).parent / "common_keywords.txt").read_text(encoding="utf-8")
    return frozenset(w for w in text.split("\n") if w and not w.startswith("#"))


def common_keywords(keywords: Iterable[str]) -> list[str]:
    """The keywords too common in ordinary text to gate a rule on (see common_keywords.txt)."""
    common = _common_words()
    return [k for k in keywords if k.lower() in common]
