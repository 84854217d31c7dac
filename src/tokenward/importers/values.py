"""Secret values read from a secrets manager → fingerprints and rule classifications (value dropped here)."""

from __future__ import annotations

from dataclasses import dataclass

from tokenward import providers
from tokenward.classify import classify
from tokenward.engine import Matcher
from tokenward.identity import Fingerprinter, preview

WHOLE_MIN, WHOLE_MAX = 12, 8192


@dataclass(frozen=True)
class ValueIdentity:
    """What a secret value is, without the value."""

    token_id: str
    provider: str
    kind: str
    preview: str
    public_ids: tuple[tuple[str, str], ...]
    environment: str | None
    privilege: str | None
    rule_id: str | None


def _looks_like_one_token(value: bytes) -> bool:
    return WHOLE_MIN <= len(value) <= WHOLE_MAX and not any(c in value for c in b" \t\r\n")


def identify(value: bytes, fp: Fingerprinter, matcher: Matcher) -> tuple[ValueIdentity, ...]:
    """Every rule match in value, plus the whole value when it looks like a single token and matched nothing."""
    value = value.strip()
    found: dict[str, ValueIdentity] = {}
    for m in matcher.scan(value):
        spec = m.rule.spec
        pub = [("id", m.public_id.decode("utf-8", "replace"))] if m.public_id else []
        pub.extend(providers.facts(spec.provider).public_ids(m.secret))
        c = classify(spec.provider, spec.kind, spec.environment, spec.privilege, m.secret, "secrets-manager", "")
        tid = fp.token_id(m.secret)
        found.setdefault(tid, ValueIdentity(tid, spec.provider, spec.kind, preview(m.secret), tuple(pub),
                                            c.environment, c.privilege, spec.id))
    if not found and _looks_like_one_token(value):
        tid = fp.token_id(value)
        found[tid] = ValueIdentity(tid, "unknown", "secret", preview(value), (), None, None, None)
    return tuple(found.values())
