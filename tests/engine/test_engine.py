"""The matcher: confirmation windows, overlaps, pairs and pathological inputs."""

from __future__ import annotations

from tests.tokens import TokenFactory
from tokenward.engine import Matcher


def test_finds_token_at_start_middle_and_end(matcher: Matcher) -> None:
    token = TokenFactory(5).github_classic()
    for data in (token, f"x = '{token}'\n", "a\n" * 1000 + token):
        matches = matcher.scan(data.encode())
        assert [m.secret.decode() for m in matches] == [token]


def test_many_tokens_in_one_blob_each_found_once(matcher: Matcher) -> None:
    f = TokenFactory(6)
    tokens = [f.github_classic() for _ in range(300)]
    data = "\n".join(f"t{i} = {t}" for i, t in enumerate(tokens)).encode()
    found = [m.secret.decode() for m in matcher.scan(data) if m.rule.spec.id == "github.pat-classic"]
    assert found == tokens


def test_token_glued_to_word_chars_is_not_matched(matcher: Matcher) -> None:
    token = TokenFactory(7).github_classic()
    assert not matcher.scan(f"prefix{token}suffix".encode())


def test_fifty_megabyte_single_line(matcher: Matcher) -> None:
    token = TokenFactory(8).github_classic()
    data = b"var a=" + b"abc0123456789;" * (50 * 1024 * 1024 // 14) + f"'{token}'".encode()
    assert [m.secret.decode() for m in matcher.scan(data)] == [token]


def test_a_million_repeated_keywords(matcher: Matcher) -> None:
    data = b"ghp_ password= token: sk_live_ AKIA xoxb- " * (10 ** 6 // 6)
    # Keywords alone are not tokens; the scan completes and reports nothing.
    assert matcher.scan(data) == []


def test_overlap_keeps_most_specific(matcher: Matcher) -> None:
    token = TokenFactory(9).github_classic()
    matches = matcher.scan(f'password = "{token}"'.encode())
    assert [m.rule.spec.id for m in matches] == ["github.pat-classic"]


def test_wrong_checksum_token_is_not_picked_up_by_generic_rules(matcher: Matcher) -> None:
    token = TokenFactory(12).github_classic()
    broken = token[:-1] + ("A" if token[-1] != "A" else "B")
    for line in (f"GITHUB_TOKEN={broken}", f'token: "{broken}"', f"<token>{broken}</token>"):
        assert matcher.scan(line.encode()) == [], line
