"""Placeholder, variable-reference and test-value heuristics (precision for generic rules)."""

from __future__ import annotations

import re
from typing import Any

from tokenward.checks.entropy import char_classes, shannon
from tokenward.checks.interface import Check, CheckFactory

PLACEHOLDER_WORDS = (
    b"example", b"sample", b"dummy", b"placeholder", b"changeme", b"change_me", b"change-me",
    b"your_", b"your-", b"yourkey", b"yourtoken", b"insert", b"replace", b"redacted", b"xxxx",
    b"****", b"....", b"<", b">", b"todo", b"fixme", b"notreal", b"not_real", b"fake", b"mock",
    b"secret_here", b"token_here", b"key_here", b"here", b"password", b"passwd", b"abcdef",
    b"123456", b"qwerty", b"lorem", b"foobar", b"test123", b"s3cr3t", b"none", b"null",
    b"undefined", b"default",
)
VARIABLE_REF = re.compile(
    rb"""^\$\{|^\$\(|^\$[A-Za-z_]|^%[A-Za-z_]+%|\{\{|\}\}|^<%|^#\{|^@[A-Za-z_]+@?$|^\(\(|"""
    rb"""os\.environ|os\.getenv|getenv\(|process\.env|ENV\[|System\.getenv|secrets\.|vars\.|"""
    rb"""env\.|config\.|settings\.|\$env:|^!\w|^\[\[|^var\.|^local\.|^data\.|^module\."""
)
HEX_HASH = re.compile(rb"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{56}|[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})$",
                      re.IGNORECASE)
UUID = re.compile(rb"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
IDENTIFIERISH = re.compile(rb"^[a-z]+(?:[_.-][a-z]+)*$|^[A-Z][a-z]+(?:[A-Z][a-z]+)+$|^[A-Z]+(?:_[A-Z]+)*$")
CODEISH = re.compile(rb"[()\[\]{};]|^\w+\.\w+\(|->|=>|::")
PATHISH = re.compile(rb"^(?:\.{0,2}/|[A-Za-z]:\\|~/|file:)|\.(?:pem|key|json|txt|ya?ml|crt|p12)$")


def is_placeholder(value: bytes) -> bool:
    """True when value looks like a documentation placeholder or a repeated/sequential filler."""
    low = value.lower()
    if any(w in low for w in PLACEHOLDER_WORDS):
        return True
    if len(set(value)) <= 3:
        return True
    return _sequential(low)


def _sequential(low: bytes) -> bool:
    # "abcdefgh…", "12345678…" and similar runs are fillers, not keys.
    runs = sum(1 for a, b in zip(low, low[1:], strict=False) if b == a + 1)
    return runs >= max(6, len(low) // 2)


def generic_reject_reason(value: bytes) -> str | None:
    """Why a value from a generic 'secret = value' assignment is not a credential, or None."""
    checks: tuple[tuple[str, bool], ...] = (
        ("short", len(value) < 8),
        ("variable reference", bool(VARIABLE_REF.search(value))),
        ("placeholder", is_placeholder(value)),
        ("hash", bool(HEX_HASH.match(value))),
        ("uuid", bool(UUID.match(value))),
        ("identifier", bool(IDENTIFIERISH.match(value))),
        ("code", bool(CODEISH.search(value))),
        ("path", bool(PATHISH.search(value))),
        ("whitespace", b" " in value.strip()),
        ("low entropy", shannon(value) < (3.0 if len(value) < 16 else 3.3)),
        ("one char class", char_classes(value) < 2),
    )
    return next((name for name, hit in checks if hit), None)


def _not_placeholder(_arg: Any) -> Check:
    return lambda secret, _ctx: not is_placeholder(secret)


def _generic_value(_arg: Any) -> Check:
    return lambda secret, _ctx: generic_reject_reason(secret) is None


CHECKS: dict[str, CheckFactory] = {
    "not_placeholder": _not_placeholder,
    "generic_value": _generic_value,
}
