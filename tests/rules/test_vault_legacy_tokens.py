"""Vault/OpenBao legacy tokens (`s.` + 24 random base62 characters) are found whatever characters the
random draw holds: about one in 70 has no digit at all."""

from __future__ import annotations

import random
import string

from tokenward.engine import Matcher


def _digit_free(rnd: random.Random) -> str:
    body = [rnd.choice(string.ascii_uppercase), rnd.choice(string.ascii_lowercase)]
    body += [rnd.choice(string.ascii_letters) for _ in range(22)]
    rnd.shuffle(body)
    return "s." + "".join(body)


def test_a_legacy_token_without_digits_is_found(matcher: Matcher) -> None:
    rnd = random.Random(70)
    for _ in range(20):
        token = _digit_free(rnd)
        found = matcher.scan(f"VAULT_TOKEN={token}\n".encode())
        assert [m.secret.decode() for m in found] == [token]
        assert found[0].rule.spec.id == "vault.service-token-legacy"


def test_an_all_lowercase_value_is_still_not_a_token(matcher: Matcher) -> None:
    assert matcher.scan(b"token: s." + "".join(random.Random(3).choices(string.ascii_lowercase, k=24)).encode()) == []
