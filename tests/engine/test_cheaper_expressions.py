"""Expressions rewritten to make the rule database cheaper (issue 13) still find what they found."""

from __future__ import annotations

import base64
import random

import pytest

from tokenward.engine import Matcher
from tokenward.expand.decode import DEFAULT_KEYWORDS, PERCENTS, candidates, decodings

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _discord_token(first_digit: int, seed: int) -> str:
    rnd = random.Random(seed)
    user_id = str(first_digit) + "".join(rnd.choice("0123456789") for _ in range(17))
    head = base64.b64encode(user_id.encode()).decode().rstrip("=")
    stamp = "".join(rnd.choice(ALNUM) for _ in range(6))
    hmac = "".join(rnd.choice(ALNUM + "_-") for _ in range(38))
    return f"{head}.{stamp}.{hmac}"


@pytest.mark.parametrize("digit", range(1, 10))
def test_discord_bot_token_of_every_leading_digit_is_found(matcher: Matcher, digit: int) -> None:
    token = _discord_token(digit, digit)
    for text in (f"DISCORD_TOKEN={token}\n", f"client.run('{token}')", f"Authorization: Bot {token}", token):
        found = [m.secret.decode() for m in matcher.scan(text.encode()) if m.rule.spec.id == "discord.bot-token"]
        assert found == [token], text


def test_discord_bot_token_glued_to_a_word_is_not_one(matcher: Matcher) -> None:
    token = _discord_token(4, 99)
    for text in (f"x{token}", f"_{token}", f"9{token}"):
        assert not [m for m in matcher.scan(text.encode()) if m.rule.spec.id == "discord.bot-token"], text
    assert [m.secret.decode() for m in matcher.scan(f"-{token}".encode())] == [token]


def _url_decoded(text: bytes) -> list[bytes]:
    return [decoded for _at, encoding, decoded in decodings(text, DEFAULT_KEYWORDS) if encoding == "url"]


@pytest.mark.parametrize(("text", "decoded"), [
    (b"q=" + b"".join(b"%%%02X" % c for c in b"ghp_example_text"), b"q=ghp_example_text"),  # every byte
    (b"data=%7B%22token%22%3A%22abcdefgh%22%7D", b'data={"token":"abcdefgh"}'),  # URL-encoded JSON
    (b"note=first%0D%0Asecond_line", b"note=first\r\nsecond_line"),  # only line breaks escaped
    (b"sig=abcdefgh%2fdef%2bghi%3d", b"sig=abcdefgh/def+ghi="),  # lower-case hex
])
def test_percent_gate_opens_on_url_encoded_text(text: bytes, decoded: bytes) -> None:
    assert PERCENTS in candidates(text)[1]
    assert _url_decoded(text) == [decoded]


@pytest.mark.parametrize("text", [
    b'printf("%02x%02x%08lx\\n", a, b, c);',  # printf formats are not escapes of text
    b'printf("%2d_items %5.2f%%\\n", a, b);',  # the Hyperscan gate fires, the pair check does not
    b"caf%C3%A9%C3%A8 and more text here",  # non-ASCII bytes never decode to text the rules read
])
def test_percent_gate_stays_shut_on_printf_formats_and_binary_escapes(text: bytes) -> None:
    assert not _url_decoded(text)
