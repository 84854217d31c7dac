"""Named checks: checksums (incl. leading zeros), entropy, JWT, placeholders."""

from __future__ import annotations

import zlib

from tests.tokens import ALNUM, TokenFactory, leading_zero_github_token
from tokenward.checks import build_check
from tokenward.checks.checksum import base62, crc32_base62_ok
from tokenward.checks.entropy import shannon
from tokenward.checks.jwt import decode_jwt


def test_base62_pads_to_six() -> None:
    assert base62(0) == b"000000"
    assert base62(61) == b"00000z"
    assert base62(62) == b"000010"


def test_github_checksum_accepts_valid_and_rejects_one_char_change() -> None:
    check = build_check("github_checksum", None)
    token = TokenFactory(3).github_classic().encode()
    assert check(token, token)
    flipped = token[:-1] + (b"A" if token[-1:] != b"A" else b"B")
    assert not check(flipped, flipped)


def test_github_checksum_with_leading_zero() -> None:
    token = leading_zero_github_token()
    assert token[-6] == "0"
    assert crc32_base62_ok(token.split("_")[1].encode())
    # A verifier that forgot to pad would compare 5 chars against 6 and fail.
    body = token.split("_")[1][:30].encode()
    assert len(base62(zlib.crc32(body)).lstrip(b"0")) < 6


def test_entropy() -> None:
    assert shannon(b"aaaaaaaa") == 0
    assert shannon(TokenFactory(1).chars(ALNUM, 40).encode()) > 4.0
    check = build_check("min_entropy", 3.5)
    assert not check(b"abababababababab", b"")


def test_jwt_decoding() -> None:
    token = TokenFactory(2).jwt({"sub": "x", "exp": 1}).encode()
    decoded = decode_jwt(token)
    assert decoded is not None and decoded[0]["alg"] == "HS256" and decoded[1]["exp"] == 1
    assert decode_jwt(b"eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln") is None
    assert decode_jwt(b"a.b") is None


def test_placeholders_rejected() -> None:
    check = build_check("not_placeholder", None)
    for value in (b"xxxxxxxxxxxxxxxx", b"your_token_here", b"<insert-key>", b"abcdefghijklmnop"):
        assert not check(value, value), value
    real = TokenFactory(4).chars(ALNUM, 32).encode()
    assert check(real, real)


def test_short_placeholder_words_count_only_as_words() -> None:
    """"null", "fake", "here"… reject a value as a word of their own, not as four letters inside a random key
    (which held one of them about once in 3,200 draws of 40 alphanumerics, dropping real keys)."""
    check = build_check("not_placeholder", None)
    for value in (b"null", b"None", b"TODO", b"FAKE_TOKEN_123", b"mockApiKey12345", b"sk_test_fake1234567890",
                  b"pasteYourKeyHere", b"todo-replace-me", b"fakekey123456", b"APIKEYHERE", b"XXXXXXXXXXXX"):
        assert not check(value, value), value
    factory = TokenFactory(11)
    for word in (b"null", b"none", b"fake", b"mock", b"here", b"todo", b"Null", b"HERE", b"xXxX"):
        # An upper-case letter before and a lower-case one after: the word runs into the random text.
        value = factory.chars(ALNUM, 12).encode() + b"Q" + word + b"z" + factory.chars(ALNUM, 12).encode()
        assert check(value, value), value


def test_random_keys_are_rarely_taken_for_placeholders() -> None:
    check = build_check("not_placeholder", None)
    factory = TokenFactory(12)
    rejected = sum(not check(v, v) for v in (factory.chars(ALNUM, 40).encode() for _ in range(20_000)))
    assert rejected <= 2, rejected  # about 1 in 65,000 now; 6 in 20,000 before


def test_format_fields_are_templates_but_brace_quoted_passwords_are_not() -> None:
    """"{pw_x7:30}" / "{api_key!s:32}" are str.format fields; "{Xk9pQ2mZ7wLd}" in a connection string is a
    brace-quoted ODBC/JDBC password and stays one."""
    uri, generic = build_check("uri_password", None), build_check("generic_value", None)
    for field in (b"{pw_x7:30}", b"{alnum:24}", b"{api_key!s:32}"):
        assert not uri(field, b"Server=db;User Id=app;Password=" + field + b";")
        assert not uri(field, b'requests.get(url, auth=("deploy", "' + field + b'"))')
        assert not generic(field, b'password = "' + field + b'"')
    assert uri(b"{Xk9pQ2mZ7wLd}", b"Server=db;User Id=app;Password={Xk9pQ2mZ7wLd};")


def test_a_whole_template_field_is_not_a_command_line_password() -> None:
    """`psexec … -p {token}` in a how-to is a template; the value beside it in a real command line is not."""
    check = build_check("not_placeholder", None)
    for field in (b"{token}", b"{{ password }}", b"{{password}}", b"{pw!r}", b"{secret:>24}"):
        assert not check(field, b"psexec \\\\dc01 -u ACME\\Administrator -p " + field), field
    real = TokenFactory(9).chars(ALNUM, 14).encode()
    for value in (real, b"{" + real, real + b"}x{"):
        assert check(value, b"psexec \\\\dc01 -p " + value), value


def test_min_digits_lets_random_letters_through_but_not_identifiers() -> None:
    """20 random base62 characters hold no digit 3 % of the time: such a key is still a key, while an
    identifier of words (with or without acronyms) is still refused."""
    check = build_check("min_digits", 1)
    factory = TokenFactory(13)
    letters = "".join(c for c in ALNUM if c.isalpha())
    draws = [factory.chars(letters, 20).encode() for _ in range(2_000)]
    assert sum(check(v, v) for v in draws) > 1_200  # two in three; none before
    for name in (b"UserAgentMatcher", b"HTTPServerConnection", b"getElementsByTagNameNS", b"maxDiskWriteIOPS",
                 b"AWS_SECRET_ACCESS_KEY", b"user_agent_matcher_list"):
        assert not check(name, name), name


def test_mixed_charset_3_lets_random_letters_without_digits_through() -> None:
    check = build_check("mixed_charset", 3)
    factory = TokenFactory(14)
    letters = "".join(c for c in ALNUM if c.isalpha())
    assert sum(check(v, v) for v in (factory.chars(letters, 16).encode() for _ in range(1_000))) > 600
    for value in (b"UserAgentMatcherXyz", b"abcdefghijkl1", b"ABCDEFGH12345", b"a1b2c3d4e5f6g7h8"):
        assert not check(value, value), value


def test_hex_keys_under_credential_names_are_kept_but_digests_and_password_hashes_are_not() -> None:
    """Generated keys are often hex: a 24- to 64-digit hex value filed under API_KEY, client_secret or
    SESSION_SECRET is a credential; under a digest's name or a password's it is most often a hash."""
    check = build_check("generic_value", None)
    factory = TokenFactory(15)
    for n in (24, 32, 40, 64):
        value = factory.chars("0123456789abcdef", n).encode()
        for key in (b'API_KEY: "%s"', b"export SESSION_SECRET=%s", b'client_secret = "%s"'):
            assert check(value, key % value), (n, key)
        for key in (b'password = "%s"', b"db_passwd: %s", b'sha256 = "%s"', b'file_checksum_token = "%s"'):
            assert not check(value, key % value), (n, key)
    short = factory.chars("0123456789abcdef", 16).encode()
    assert not check(short, b'API_KEY: "%s"' % short)
