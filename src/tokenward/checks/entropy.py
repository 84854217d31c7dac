"""Shannon entropy and character-class checks."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from tokenward.checks.interface import Check, CheckFactory
from tokenward.errors import CheckError


def shannon(data: bytes) -> float:
    """Shannon entropy of data in bits per byte (0 for empty input)."""
    if not data:
        return 0.0
    total = len(data)
    return -sum(c / total * math.log2(c / total) for c in Counter(data).values())


def char_classes(data: bytes) -> int:
    """How many of {lowercase, uppercase, digit} occur in data."""
    return sum(
        1 for present in (
            any(97 <= b <= 122 for b in data),
            any(65 <= b <= 90 for b in data),
            any(48 <= b <= 57 for b in data),
        ) if present
    )


def _min_entropy(arg: Any) -> Check:
    if not isinstance(arg, int | float) or not 0 < float(arg) <= 8:
        raise CheckError(f"min_entropy needs a number of bits per char in (0, 8], got {arg!r}")
    threshold = float(arg)
    return lambda secret, _ctx: shannon(secret) >= threshold


def _mixed_charset(arg: Any) -> Check:
    # All three classes: a value short only of digits still passes when its letters read as random (see
    # _min_digits: 16 random base62 characters hold no digit 6 % of the time).
    need = 2 if arg is None else arg
    if not isinstance(need, int) or not 1 <= need <= 3:
        raise CheckError(f"mixed_charset needs 1, 2 or 3, got {arg!r}")
    return lambda secret, _ctx: char_classes(secret) >= need or (need == 3 and random_letters(secret))


# A word in an identifier: capitalised or lowercase letters, an acronym before it ("HTTPServer") or one
# that ends the name ("maxDiskIOPS").
WORD_CHUNK = re.compile(rb"[A-Z]*[a-z]{2,}|(?<=[a-z])[A-Z]{2,}$")


def random_letters(secret: bytes) -> bool:
    """True when secret's letters read as drawn at random, not as the words of an identifier: both cases,
    and under three quarters of its letters in word-like chunks.

    Identifiers are words (UserAgentMatcher: all of its letters); 20 random mixed-case letters have
    under three quarters in such chunks two times in three.
    """
    upper, lower = sum(1 for b in secret if 65 <= b <= 90), sum(1 for b in secret if 97 <= b <= 122)
    letters = upper + lower
    if not (upper and lower) or letters < len(secret) * 0.9:
        return False
    return sum(len(w) for w in WORD_CHUNK.findall(secret)) * 4 < letters * 3


def _min_digits(arg: Any) -> Check:
    # Random base62 values mostly hold digits; CamelCase identifiers (UserAgentMatcher) and words do not.
    # Mostly: 20 random base62 characters hold no digit 3 % of the time (32: 0.4 %), so a value without
    # its digits still passes when its letters read as random (two in three such 20-letter draws).
    need = 1 if arg is None else arg
    if not isinstance(need, int) or not 1 <= need <= 64:
        raise CheckError(f"min_digits needs a count from 1 to 64, got {arg!r}")
    return lambda secret, _ctx: sum(48 <= b <= 57 for b in secret) >= need or random_letters(secret)


CHECKS: dict[str, CheckFactory] = {
    "min_entropy": _min_entropy,
    "mixed_charset": _mixed_charset,
    "min_digits": _min_digits,
}
