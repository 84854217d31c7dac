"""Placeholder, variable-reference and test-value heuristics (precision for generic rules)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

from tokenward.checks.entropy import char_classes, shannon
from tokenward.checks.interface import Check, CheckFactory
from tokenward.errors import CheckError

WORD_LISTS = Path(__file__).parent / "words"


def _words(name: str) -> frozenset[str]:
    """The words of a package word list (one or more per line; '#' lines are comments)."""
    text = (WORD_LISTS / name).read_text(encoding="utf-8")
    return frozenset(w for line in text.splitlines() if not line.startswith("#") for w in line.split())


# Markers that count anywhere in a value: five letters or more, or runs no key alphabet makes at random. A
# random 40-character alphanumeric key holds one of them less than once in a million draws.
PLACEHOLDER_WORDS = (
    b"example", b"sample", b"dummy", b"placeholder", b"changeme", b"change_me", b"change-me",
    b"your_", b"your-", b"yourkey", b"yourtoken", b"yourpass", b"yoursecret", b"insert", b"replace",
    b"redacted", b"****", b"...", b"fixme", b"notreal", b"not_real",
    b"password", b"passwd",
    b"abcdef", b"123456", b"qwerty", b"lorem", b"foobar", b"test123", b"s3cr3t",
    b"undefined", b"default", b"insecure", b"\xe2\x80\xa2",
)
PLACEHOLDER_RE = re.compile(b"|".join(re.escape(w) for w in PLACEHOLDER_WORDS))
# Markers read on the value as written, case included. Short words count only as a word of their own: a
# random 40-character alphanumeric key held one of them somewhere about once in 3,200 draws. A word of its own
# is bounded by the value's ends, a separator, a digit or a change of case, and written in one case: "none",
# "FAKE_TOKEN", "mockKey", "pasteYourKeyHere", "token_here".
SHORT_PLACEHOLDER_WORDS = (b"todo", b"fake", b"mock", b"here", b"none", b"null")
CASED_PLACEHOLDER_RE = re.compile(b"|".join(
    rb"(?<![A-Za-z])%s(?![a-z])|(?<![A-Z])%s(?![a-z])|(?<![A-Z])%s(?![A-Z])"
    % (w, w.capitalize(), w.upper()) for w in SHORT_PLACEHOLDER_WORDS)
    + rb"|xxxx|XXXX"  # a filler is typed in one case; "xXxX" is a random draw
    + rb"|<[^<>]*>|^<|>$"  # "<your key>", or one cut short; a lone "<" inside is a character of the key
    + rb"|(?i:(?:todo|fake|mock|none|null)(?:api|key|token|secret|pass|pwd)|(?:key|token|secret|pass)here)")
# Example credentials printed in the OAuth specifications (RFC 5849, RFC 6749, RFC 6750, OAuth Core 1.0) and the
# Google Authenticator key-URI documentation, copied into countless docstrings and tests; kept as SHA-256
# prefixes rather than as token-shaped literals.
SPEC_SAMPLE_DIGESTS = frozenset((
    "6c96130f130ab0d6", "00cf4c781dc37003", "a35b81a7d7927b70", "ca7459e2b26776de", "53f5da0aaa93d64c",
    "e9974c507d2a8021", "b8e148545b13c78b", "293257ab6495ebb1", "bb9b1163338b2a51", "128e8e99b7b9ff47",
    "4c20e6f5cc11b937", "5435a2f13f1e85e3", "649e1f5c769e718b", "8d567eb88afff34f", "9d03b692e941d5ac",
    "8be5d113c0871ce1",
))
LEET = bytes.maketrans(b"@4310$57!", b"aaeiossti")
LEET_WORDS = (b"password", b"passw", b"secret", b"admin", b"letmein", b"welcome", b"changeme", b"qwerty")
VARIABLE_REF = re.compile(
    rb"""^\$\{|^\$\(|^\$[A-Za-z_]|^%[A-Za-z_]+%|\{\{|\}\}|^<%|^#\{|^@[A-Za-z_]+@?$|^\(\(|"""
    rb"""os\.environ|os\.getenv|getenv\(|process\.env|ENV\[|System\.getenv|\$env:|"""
    rb"""^!(?:Ref|Sub|GetAtt|ImportValue|Join|Select|FindInMap|Base64|If|vault|ENV|env|"""
    rb"""[Ss]ecret|[Ii]nclude|unsafe|encrypted|reference)\b|^\[\[|"""
    rb"""^(?:secrets|vars|env|config|settings|var|local|data|module|self|this|args|params|request|req|Values)\.|"""
    rb"""^\.Values|%\(\w+\)s|^%[sd]|%[sd]$|^\$\$|^\$\d|^:[a-z_]+$|^@\w|^\{\w+\}$"""
)
# A str.format field with a conversion or a format spec ("{password!r}", "{secret:>24}"): a template. A plain
# "{word}" in a connection string is a brace-quoted ODBC/JDBC value, so that form alone is not one there.
FORMAT_FIELD = re.compile(rb"^\{[A-Za-z_]\w*(?:![rsa](?::[^{}]*)?|:[^{}]*)\}$")
TEMPLATE_FIELD = re.compile(rb"^\{\{?\s*[A-Za-z_][\w.]*\s*\}?\}$")  # one template field: {name}, {{ name }}
REFERENCE_SCHEME = re.compile(
    rb"^(?:vault|arn|ssm|secretsmanager|kms|keyvault|akv|gcpsm|sm|op|env|file|ref|secret|secrets|doppler|"
    rb"infisical|bws|awssm|aws-sm|k8s|kubernetes|sops|enc|encrypted|cipher)[:+]", re.IGNORECASE)
DB_HASH = re.compile(rb"^md5[0-9a-f]{32}$|^\*[0-9A-F]{40}$|^SCRAM-SHA-256\$")
URI_TEMPLATE = re.compile(rb"^\$\{|^\$\(|^\$[A-Za-z_]|^%[A-Za-z_]+%|[{}<>]|%\(\w+\)s|%s|^\*+$|^\$\$|^:[a-z_]+$")
HEX_HASH = re.compile(rb"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{56}|[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})$",
                      re.IGNORECASE)
HEX_ONLY = re.compile(rb"^(?:0x)?[0-9a-fA-F]+$")
HASH_PREFIX = re.compile(
    rb"^(?:sha\d{0,3}|md5|blake2b?|sha3-\d{3})[:=-]|^\$(?:2[abxy]?|1|5|6|y|gy|7|argon2(?:id|i|d)|apr1|pbkdf2"
    rb"[\w-]*|scrypt)\$|^(?:pbkdf2_sha\d+|bcrypt|argon2|scrypt|sha1|md5)\$|^\{(?:SHA|SSHA|SHA256|SSHA256|SHA512|"
    rb"SSHA512|MD5|SMD5|CRYPT|PBKDF2[\w-]*|ARGON2)\}", re.IGNORECASE)
UUID = re.compile(rb"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
IDENTIFIERISH = re.compile(
    rb"^_{1,2}(?:[A-Z][a-z]+(?:[A-Z][a-z]+)*|[a-z][a-z0-9_]*|[A-Z][A-Z0-9_]*)$|"
    rb"^[a-z]+\d{0,3}(?:[_.-][a-z]*\d{0,3})+$|^[A-Z][A-Z]*\d{0,3}(?:[_-][A-Z]*\d{0,3})+$|^[a-z]+\d{0,3}$|^[A-Z]{2,}\d{0,3}$|^[A-Z][a-z]{3,}$|"
    rb"^(?:[a-z]+|[A-Z]+|[A-Z][a-z]+)(?:_(?:[a-z]+|[A-Z]+|[A-Z][a-z]+))+$")
DOTTED = re.compile(rb"^([A-Za-z_$][\w$]*)(?:\.[A-Za-z_$][\w$-]*)+$")
NAME_SEGMENT = re.compile(rb"^[a-z_$][a-z0-9_$-]*$|^[A-Z_][A-Z0-9_]*$|"
                          rb"^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]+)*(?:[A-Z]{2,5})?$|^[A-Z]{0,5}(?:[A-Z][a-z0-9]+)+$")
VOWEL = re.compile(rb"[aeiouyAEIOUY]")
CONSONANTS = re.compile(rb"[b-df-hj-np-tv-xzB-DF-HJ-NP-TV-XZ]{4}")
NAME_CHARS = re.compile(rb"[A-Za-z][A-Za-z0-9]*(?:[_-]+[A-Za-z0-9]+)*")
STRICT_CAMEL = re.compile(rb"[a-z]{2,}(?:[A-Z][a-z]{2,})+|(?:[A-Z][a-z]{2,}){2,}")
CODEISH = re.compile(rb"[()\[\]{};]|^\w+\.\w+\(|->|=>|::|^/\^|===|!==|!=[^=]|\w==\w|!!|\|\||&&|^[a-z]\.[A-Za-z_$]|"
                     rb"\w\.[A-Za-z_$][\w$]*=|^[A-Za-z_]\w*(?:\.\w+)+:[A-Za-z_]\w*$|^[:=]")
ESCAPED_TEXT = re.compile(rb"\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\N\{")
PATHISH = re.compile(rb"^(?:\.{1,2}/|[A-Za-z]:\\|~/|\\\\|file:)|^/[a-z0-9_.-]+$|"
                     rb"^/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]*)+$|"
                     rb"\.(?:pem|key|json|txt|ya?ml|crt|p12|pfx|jks|env|cfg|conf|ini|properties|xml|toml)$|"
                     rb"^[a-z0-9_.:-]+(?:/[a-z0-9_.:{}-]*)+$")
URLISH = re.compile(rb"://|^(?:https?|ftp|mailto|tel):")
# A real top-level domain is written in one case: "x@aTUsZoJe.rL" is a password with an @, not an address.
EMAILISH = re.compile(rb"^[^@\s]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:[a-z]{2,24}|[A-Z]{2,24})$")
HOSTISH = re.compile(rb"^[a-z0-9-]+(?:\.[a-z0-9-]+)+(?::\d{1,5})?$")
NUMBERISH = re.compile(rb"^[\d\s.,:/+_-]+$")
VERSIONISH = re.compile(rb"^v?\d{1,4}(?:[._-]\d{1,6}){1,4}(?:[-+._]?[A-Za-z]{1,12}[.-]?\d{0,6})*$|"
                        rb"^[A-Z]{2,10}[-_ ]?\d{1,6}(?:[-.]\d{1,6})*$")
DATEISH = re.compile(rb"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
REPEATED = re.compile(rb"(.{1,16}?)\1+")
WORD_PART = re.compile(rb"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+|[^A-Za-z\d]+")

WORDS = _words("vocabulary.txt")  # a value made only of these is a phrase or a demo value
NON_SECRET_KEY_WORDS = _words("non_secret_key_words.txt")  # key names of a credential's properties
PASSWORD_WORDS = frozenset(b"password passwd pwd pass passphrase passwort passcode".split())
SECRET_WORDS = PASSWORD_WORDS | frozenset(
    b"secret secrets token apikey apitoken credential credentials creds cred auth".split())
KEY_QUALIFIERS = frozenset(
    b"api access secret private app application master auth signing encryption client license service "
    b"account admin consumer webhook shared session hmac jwt crypto cipher root sas storage subscription "
    b"deploy integration x".split())
SECRET_SUFFIXES = (b"password", b"passwd", b"passphrase", b"secret", b"token", b"apikey", b"secretkey",
                   b"accesskey", b"privatekey", b"authkey", b"appkey", b"masterkey", b"signingkey")
KEY_TOKEN = re.compile(rb"[A-Za-z0-9_./-]+")
KEY_WORD = re.compile(rb"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
QUOTES = b"\"'`"
DEMO_USERS = frozenset((b"scott", b"johndoe", b"john.doe", b"jdoe", b"foo", b"someuser", b"myuser", b"youruser",
                        b"username", b"exampleuser", b"testuser", b"demo", b"demouser", b"alice", b"bob", b"user1"))


def is_placeholder(value: bytes) -> bool:
    """True when value looks like a documentation placeholder or a repeated/sequential filler."""
    low = value.lower()
    if PLACEHOLDER_RE.search(low) or CASED_PLACEHOLDER_RE.search(value):
        return True
    leet = low.translate(LEET)
    if leet != low and any(w in leet and w not in low for w in LEET_WORDS):
        return True
    if len(set(value)) <= 3 or _spec_sample(value):
        return True
    return _sequential(low)


def _spec_sample(value: bytes) -> bool:
    return any(hashlib.sha256(v).hexdigest()[:16] in SPEC_SAMPLE_DIGESTS for v in (value, value.upper()))


def _sequential(low: bytes) -> bool:
    # "abcdefgh…", "12345678…" and similar runs are fillers, not keys.
    runs = sum(1 for a, b in itertools.pairwise(low) if b == a + 1)
    return runs >= max(6, len(low) // 2)


def _segments(word: bytes) -> bool:
    """True when word (lowercase letters) splits entirely into vocabulary words."""
    n = len(word)
    ok = [True] + [False] * n
    for end in range(1, n + 1):
        ok[end] = any(ok[start] and word[start:end].decode() in WORDS for start in range(max(0, end - 16), end))
    return ok[n]


def is_wordy(value: bytes) -> bool:
    """True when value is only vocabulary words (camel/snake case) plus at most 4 digits and 3 symbols."""
    words = digits = symbols = 0
    for part in WORD_PART.findall(value):
        if part.isdigit():
            digits += len(part)
        elif not part.isalpha():
            symbols += len(part)
        elif _segments(part.lower()):
            words += 1
        else:
            return False
    return words > 0 and digits <= 4 and symbols <= 3


def _decoded_text(value: bytes) -> bytes | None:
    """The printable ASCII text a base64 (or unpadded base64url) value decodes to, or None."""
    if len(value) < 8 or not re.fullmatch(rb"[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+", value):
        return None
    padded = value.rstrip(b"=") + b"=" * (-len(value.rstrip(b"=")) % 4)
    try:
        raw = base64.b64decode(padded.replace(b"-", b"+").replace(b"_", b"/"), validate=True)
    except binascii.Error:
        return None
    return raw if raw and all(32 <= b < 127 for b in raw) else None


def _dotted_reference(value: bytes) -> bool:
    """settings.db.password, random_password.db.result, this.apiKey: attribute access, not a value."""
    if DOTTED.match(value) is None:
        return False
    return all(NAME_SEGMENT.match(seg) or is_wordy(seg) or _camel_words(seg) for seg in value.split(b"."))


def _camel_words(value: bytes) -> bool:
    """A name made of words (IAmSensitive, Ed25519PrivateKey, Access-Control-Allow-Credentials): not a key."""
    if NAME_CHARS.fullmatch(value) is None:
        return False
    parts = [p for chunk in re.split(rb"[_-]+", value) for p in WORD_PART.findall(chunk)]
    alpha = [p for p in parts if p.isalpha()]
    words = [p for p in alpha if len(p) >= 3 and _pronounceable(p)]
    digits = sum(len(p) for p in parts if p.isdigit())
    if not any(len(w) >= 4 for w in words) or digits > max(4, 3 * len(words)):
        return False
    known = any(len(p) >= 3 and p.lower().decode() in WORDS for p in alpha)
    if not known and not (STRICT_CAMEL.fullmatch(value) and sum(1 for w in words if len(w) >= 4) >= 2):
        return False
    letters = sum(len(p) for p in alpha)
    spoken = sum(len(p) for p in alpha if _pronounceable(p))
    named = spoken + sum(len(p) for p in alpha if not _pronounceable(p) and (
        (p.isupper() and 2 <= len(p) <= 6) or p in (b"I", b"A", b"a") or p.lower().decode() in WORDS))
    return spoken * 2 >= letters and named * 4 >= letters * 3


def _pronounceable(part: bytes) -> bool:
    """Capitalised or lowercase letters with vowels and no run of four consonants: a word-like part."""
    return (len(part) >= 2 and not part[1:].isupper() and bool(VOWEL.search(part))
            and CONSONANTS.search(part) is None)


def _low_entropy(value: bytes) -> bool:
    # About the 0.1st percentile of random alphanumerics of the same length, capped for long values.
    return shannon(value) < min(3.5, math.log2(len(value)) - 1.0)


Reason = tuple[str, Callable[[bytes], bool]]
SHAPE_REASONS: tuple[Reason, ...] = (
    ("url", lambda v: bool(URLISH.search(v))),
    ("email", lambda v: bool(EMAILISH.match(v))),
    ("number", lambda v: bool(NUMBERISH.match(v))),
    ("version", lambda v: bool(VERSIONISH.match(v))),
    ("hostname", lambda v: bool(HOSTISH.match(v))),
    ("date", lambda v: bool(DATEISH.match(v))),
    ("hash", lambda v: bool(HEX_HASH.match(v) or HASH_PREFIX.search(v))),
    ("short hex", lambda v: len(v) < 32 and bool(HEX_ONLY.match(v))),
    ("uuid", lambda v: bool(UUID.match(v))),
    ("code", lambda v: bool(CODEISH.search(v))),
    ("identifier", lambda v: bool(IDENTIFIERISH.match(v)) or _dotted_reference(v) or _camel_words(v.lstrip(b"_"))),
    ("path", lambda v: bool(PATHISH.search(v))),
    ("whitespace", lambda v: b" " in v.strip() or b"\t" in v.strip()),
    ("non-ascii", lambda v: any(c > 126 for c in v) or bool(ESCAPED_TEXT.search(v))),
)
LATE_REASONS: tuple[Reason, ...] = (
    ("encoded placeholder", lambda v: _encoded_placeholder(v)),
    ("dictionary words", lambda v: is_wordy(v) or is_wordy(v.translate(LEET)) or is_wordy(v.translate(LEET).lower())),
    ("low entropy", lambda v: _low_entropy(v)),
    ("one char class", lambda v: char_classes(v) < 2),
)


def _encoded_placeholder(value: bytes) -> bool:
    decoded = _decoded_text(value)
    return decoded is not None and (is_placeholder(decoded) or is_wordy(decoded) or len(decoded) < 6)


def _quote_mismatch(value: bytes, context: bytes) -> bool:
    """An opening quote right before the value must be closed by the same quote right after it."""
    at = context.rfind(value)
    if at <= 0 or context[at - 1] not in QUOTES:
        return False
    after = at + len(value)
    return after < len(context) and context[after] != context[at - 1]


def generic_reject_reason(value: bytes, context: bytes | None = None) -> str | None:
    """Why a value from a generic 'secret = value' assignment is not a credential, or None."""
    if len(value) < 8:
        return "short"
    if context is not None and _quote_mismatch(value, context):
        return "unbalanced quote"
    early: tuple[Reason, ...] = (
        ("variable reference", lambda v: bool(VARIABLE_REF.search(v) or REFERENCE_SCHEME.match(v)
                                              or FORMAT_FIELD.match(v))),
        ("placeholder", is_placeholder),
        ("repeated", lambda v: bool(REPEATED.fullmatch(v))),
    )
    reasons = (*early, *SHAPE_REASONS, *LATE_REASONS)
    if context is not None and _hex_credential(value, context):
        reasons = (*(r for r in reasons if r[0] not in HEX_SHAPES), HEX_LOW_ENTROPY)
    return next((name for name, test in reasons if test(value)), None)


HEX_SHAPES = ("hash", "short hex", "low entropy")
# Of 16 symbols, 32 random hex digits hold under 3.5 bits per digit 1 time in 5, under 3.0 1 in 5,000; 20 digits
# under 3.0 3 times in 100, hence the floor that falls with the length.
HEX_LOW_ENTROPY: Reason = ("low entropy", lambda v: shannon(v) < min(3.0, math.log2(len(v)) - 1.8))
HEX_KEY = re.compile(rb"[0-9a-fA-F]{20,}")


def _hex_credential(value: bytes, context: bytes) -> bool:
    """True for 20 or more hex digits filed under a key that names a credential other than a password.

    Generated keys are often hex (client_secret, SESSION_SECRET, API_KEY = 24, 32, 40 or 64 hex digits). A digest
    is filed under hash, digest or checksum names (which generic_key_reason refuses), and a hex value under a
    password name is most often the password's hash: those stay refused."""
    if HEX_KEY.fullmatch(value) is None:
        return False
    before = _key_before(value, context)
    if generic_key_reason(before) is not None:
        return False
    key = _credential_token(before)
    return key is not None and not any(
        w in PASSWORD_WORDS or w.endswith((b"password", b"passwd")) for w in _key_words(key))


def _key_words(token: bytes) -> list[bytes]:
    return [w.lower() for w in KEY_WORD.findall(token)]


def _names_secret(words: list[bytes]) -> bool:
    """True when the key's words name a credential (password, db_pass, clientSecret, API_KEY...)."""
    for i, word in enumerate(words):
        if word in SECRET_WORDS or word.endswith(SECRET_SUFFIXES):
            return True
        if word == b"key" and i > 0 and words[i - 1] in KEY_QUALIFIERS:
            return True
    return False


def generic_key_reason(before: bytes) -> str | None:
    """Why the key a generic value is assigned to does not name a credential, or None."""
    key = _credential_token(before)
    if key is None:
        return "no credential key"
    last_segment = re.split(rb"[./]", key.rstrip(b"./"))[-1]
    if not _names_secret(_key_words(last_segment)):
        return "attribute of a credential"
    words = _key_words(key)
    bad = [w for w in words if w.decode() in NON_SECRET_KEY_WORDS]
    return f"non-secret key word {bad[0].decode()!r}" if bad else None


def _credential_token(before: bytes) -> bytes | None:
    """The last key-like token of before that names a credential (API_KEY, db.password), or None."""
    return next((t for t in reversed(KEY_TOKEN.findall(before)) if _names_secret(_key_words(t))), None)


def _key_before(secret: bytes, context: bytes) -> bytes:
    at = context.rfind(secret)
    return context[:at] if at >= 0 else context


def basic_credentials_ok(user_pass: bytes) -> bool:
    """True when user_pass is 'user:password' with a plausible, non-placeholder password."""
    user, sep, password = user_pass.partition(b":")
    if not sep or not user or len(password) < 6 or len(user) > 128 or b" " in user:
        return False
    if password.lower() == user.lower():
        return False
    return not (is_placeholder(password) or VARIABLE_REF.search(password) or FORMAT_FIELD.match(password)
                or is_wordy(password))


def uri_password_reason(password: bytes, context: bytes) -> str | None:
    """Why the password part of a URI or connection string is not a credential, or None."""
    if FORMAT_FIELD.match(password):
        return "template"
    if len(password) > 2 and password[:1] == b"{" and password[-1:] == b"}":
        password = password[1:-1]  # ODBC/JDBC brace-quoted value
    plain = unquote_to_bytes(password)
    user = _uri_user(context)
    low = plain.lower()
    checks: tuple[tuple[str, bool], ...] = (
        ("short", len(plain) < 6),
        ("template", bool(URI_TEMPLATE.search(plain))),
        ("placeholder", is_placeholder(plain)),
        ("same as user", user is not None and low == user.lower()),
        ("demo user", user is not None and user.lower() in DEMO_USERS),
        ("hash", bool(HEX_HASH.match(plain) or HASH_PREFIX.search(plain) or DB_HASH.match(plain))),
        ("names the service", (b"://" in context and low in context.split(b"://", 1)[0].lower())
         or b"@" + low in context.lower()),
        ("dictionary words", is_wordy(plain)),
        ("identifier", bool(IDENTIFIERISH.match(plain))),
        ("low entropy", shannon(plain) < 2.3),
        ("single character class", _weak_uri_password(plain)),
    )
    return next((name for name, hit in checks if hit), None)


def _weak_uri_password(plain: bytes) -> bool:
    return char_classes(plain) < 2 and len(plain) < 12


def _uri_user(context: bytes) -> bytes | None:
    m = re.search(rb"://([^:@/\s]*):", context) or re.search(
        rb"(?i)(?:user(?:name|\s?id)?|uid)\s*=\s*([^;&\s\"']+)", context)
    return unquote_to_bytes(m.group(1)) if m else None


FUNCTION_CALL = re.compile(rb"^[A-Za-z_][\w.]*\([^()]*\)$")
WHOLE_REFERENCE = re.compile(
    rb"^(?:\$\{?[A-Za-z_]\w*\}?|%[A-Za-z_]\w*%|\$\(.*\))$|\{\{|\}\}|os\.environ|getenv|process\.env")


def secret_key_reason(value: bytes) -> str | None:
    """Why a framework signing key (Django SECRET_KEY and the like, whose alphabet includes `()&*^%`)
    is not a real key, or None: the generic value heuristics minus the `code` shape, plus entropy."""
    reasons: tuple[Reason, ...] = (
        ("short", lambda v: len(v) < 32),
        ("variable reference", lambda v: bool(WHOLE_REFERENCE.search(v) or REFERENCE_SCHEME.match(v))),
        ("placeholder", is_placeholder),
        ("repeated", lambda v: bool(REPEATED.fullmatch(v))),
        ("call", lambda v: bool(FUNCTION_CALL.match(v))),
        ("url", lambda v: bool(URLISH.search(v))),
        ("path", lambda v: bool(PATHISH.search(v))),
        ("hash", lambda v: bool(HEX_HASH.match(v) or HASH_PREFIX.search(v))),
        ("identifier", lambda v: bool(IDENTIFIERISH.match(v)) or _dotted_reference(v)),
        ("dictionary words", is_wordy),
        ("low entropy", lambda v: shannon(v) < 4.0),
    )
    return next((name for name, test in reasons if test(value)), None)


def _secret_key_value(_arg: Any) -> Check:
    return lambda secret, _ctx: secret_key_reason(secret) is None


def _not_placeholder(_arg: Any) -> Check:
    # A whole value that is a template field ("-p {token}", "{{ password }}", "{pw!r}") is no credential;
    # only connection strings read a braced word as a value (uri_password), and they do not come here.
    return lambda secret, _ctx: not (is_placeholder(secret) or TEMPLATE_FIELD.match(secret)
                                     or FORMAT_FIELD.match(secret))


def _generic_value(arg: Any) -> Check:
    if arg not in (None, "strict"):
        raise CheckError(f"generic_value takes no argument or 'strict', got {arg!r}")
    if arg is None:
        return lambda secret, ctx: generic_reject_reason(secret, ctx) is None

    def strict(secret: bytes, ctx: bytes) -> bool:
        # Tokens and keys are generated: short ones must mix all three character classes.
        if len(secret) < 12 or (len(secret) < 16 and char_classes(secret) < 3):
            return False
        return generic_reject_reason(secret, ctx) is None
    return strict


def _generic_key(_arg: Any) -> Check:
    return lambda secret, ctx: generic_key_reason(_key_before(secret, ctx)) is None


def _basic_auth(_arg: Any) -> Check:
    def check(secret: bytes, _ctx: bytes) -> bool:
        decoded = _decoded_text(secret)
        return decoded is not None and basic_credentials_ok(decoded)
    return check


def _b64_password(_arg: Any) -> Check:
    """A base64-encoded password (npm `_password`): it must decode to a plausible password."""
    def check(secret: bytes, _ctx: bytes) -> bool:
        decoded = _decoded_text(secret)
        return decoded is not None and uri_password_reason(decoded, b"") is None
    return check


def _uri_password(_arg: Any) -> Check:
    return lambda secret, ctx: uri_password_reason(secret, ctx) is None


CHECKS: dict[str, CheckFactory] = {
    "not_placeholder": _not_placeholder,
    "generic_value": _generic_value,
    "generic_key": _generic_key,
    "basic_auth": _basic_auth,
    "uri_password": _uri_password,
    "secret_key_value": _secret_key_value,
    "b64_password": _b64_password,
}
