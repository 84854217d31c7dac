"""Realistic look-alikes that are not secrets: hashes, ids, placeholders, references, public keys.

Each `Decoy` makes a value for a variable name in a given file language. `raw=True` means the value
is a code expression (an environment lookup, a template reference) and is written unquoted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import string
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from keys import certificate_pem, public_pem, ssh_public_line
from positives import ALNUM, B64, HEX, LOWER_ALNUM, URLSAFE, BenchTokens


@dataclass(frozen=True)
class Value:
    """A decoy value and whether it is written as a bare expression rather than a string."""

    text: str
    raw: bool = False
    name: str | None = None  # a name that fits this value (overrides the decoy's generic names)


@dataclass(frozen=True)
class Decoy:
    """One kind of look-alike: category, realistic names and a generator (tokens, language) → Value."""

    category: str
    names: tuple[str, ...]
    make: Callable[[BenchTokens, str], Value]
    weight: int = 1
    block: bool = False


def _v(text: str | tuple[str, str]) -> Value:
    if isinstance(text, tuple):
        return Value(text[1], name=text[0])
    return Value(text)


def sha1(t: BenchTokens) -> str:
    return hashlib.sha1(t.randbytes(16)).hexdigest()


def sha256(t: BenchTokens) -> str:
    return hashlib.sha256(t.randbytes(16)).hexdigest()


def md5(t: BenchTokens) -> str:
    return hashlib.md5(t.randbytes(16)).hexdigest()


def sha512_b64(t: BenchTokens) -> str:
    return base64.b64encode(hashlib.sha512(t.randbytes(16)).digest()).decode()


def tiny_png(t: BenchTokens, size: int = 0) -> bytes:
    """A valid PNG of random pixels (size x size, RGB)."""
    size = size or t.rng.randint(4, 24)
    raw = b"".join(b"\x00" + t.randbytes(size * 3) for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def data_uri(t: BenchTokens) -> str:
    return "data:image/png;base64," + base64.b64encode(tiny_png(t)).decode()


def _env_ref(name: str, lang: str) -> Value:
    env = name.upper().replace(".", "_").replace("-", "_").lstrip("_:")
    return {
        "python": Value(f'os.environ["{env}"]', True),
        "js": Value(f"process.env.{env}", True),
        "go": Value(f'os.Getenv("{env}")', True),
        "tf": Value(f"var.{env.lower()}", True),
        "yaml": Value("${" + env + "}"),
        "env": Value("${" + env + "}"),
        "docker": Value("$" + env),
        "shell": Value("$" + env),
        "json": Value("${" + env + "}"),
        "md": Value("$" + env),
        "ini": Value("%(" + env + ")s"),
        "properties": Value("${" + env + "}"),
        "ci": Value("${{ secrets." + env + " }}"),
        "k8s": Value("$(" + env + ")"),
    }.get(lang, Value("${" + env + "}"))


def _template_ref(name: str, lang: str) -> Value:
    key = name.lower().replace("-", "_").lstrip("_:")
    return Value(f"{{{{ .Values.{key} }}}}" if lang in ("yaml", "k8s") else f"{{{{ {key} }}}}")


PLACEHOLDERS = (
    "<your-api-key>",
    "<YOUR_TOKEN_HERE>",
    "your_api_key_here",
    "YOUR_SECRET_KEY",
    "changeme",
    "CHANGE_ME",
    "********",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "XXXXXXXXXXXXXXXXXXXXXXXX",
    "<redacted>",
    "REPLACE_ME",
    "TODO",
    "${TOKEN}",
    "{token}",
    "%s",
    "...",
    "<password>",
    "[REDACTED]",
    "insert-key-here",
    "none",
)

FIXTURES = (
    "test-token",
    "fake-api-key",
    "not-a-real-secret",
    "dummy_password",
    "hunter2",
    "s3cr3t",
    "testpassword",
    "password123",
    "secret",
    "abc123",
    "test_api_key_123",
    "local-dev-secret",
    "example-token",
    "foobar",
    "my-secret-key",
    "supersecret",
    "pa55word",
    "development",
    "insecure-dev-key-do-not-use",
)


def placeholder_shaped(t: BenchTokens) -> tuple[str, str]:
    """A provider-prefixed value that is visibly a placeholder (docs)."""
    return t.pick(
        [
            ("GITHUB_TOKEN", "ghp_" + "x" * 36),
            ("GH_TOKEN", "ghp_" + "X" * 36),
            ("STRIPE_SECRET_KEY", "sk_live_" + "x" * 24),
            ("OPENAI_API_KEY", "sk-" + "x" * 48),
            ("AWS_ACCESS_KEY_ID", "AKIA" + "X" * 16),
            ("SLACK_BOT_TOKEN", "xoxb-" + "x" * 10 + "-" + "x" * 10 + "-" + "x" * 24),
            ("GITLAB_TOKEN", "glpat-" + "x" * 20),
            ("NPM_TOKEN", "npm_" + "0" * 36),
            ("SENDGRID_API_KEY", "SG." + "x" * 22 + "." + "x" * 43),
            ("GOOGLE_API_KEY", "AIza" + "X" * 35),
            ("HF_TOKEN", "hf_" + "x" * 34),
            ("ANTHROPIC_API_KEY", "sk-ant-api03-..."),
            ("SLACK_USER_TOKEN", "xoxp-..."),
            ("token", "ghp_..."),
            ("STRIPE_SECRET_KEY", "sk_live_..."),
            ("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T000/B000/XXXX"),
        ]
    )


def docs_example(t: BenchTokens) -> tuple[str, str]:
    """A provider-shaped value carrying an EXAMPLE / sequential marker, as in provider docs."""
    return t.pick(
        [
            ("AWS_ACCESS_KEY_ID", "AKIA" + t.chars(string.ascii_uppercase + "234567", 9) + "EXAMPLE"),
            ("aws_secret_access_key", t.chars(B64, 30) + "EXAMPLEKEY"),
            ("GITHUB_TOKEN", "ghp_1234567890abcdefghijklmnopqrstuvwxyz"),
            ("STRIPE_SECRET_KEY", "sk_live_EXAMPLE" + t.chars(ALNUM, 16)),
            ("SLACK_BOT_TOKEN", "xoxb-123456789012-1234567890123-EXAMPLEexampleEXAMPLE"),
            ("GITLAB_TOKEN", "glpat-EXAMPLEexample1234"),
            ("OPENAI_API_KEY", "sk-EXAMPLE" + t.chars(ALNUM, 30)),
        ]
    )


def wrong_checksum(t: BenchTokens) -> tuple[str, str]:
    prefix = t.pick(["ghp_", "ghp_", "gho_", "ghs_", "npm_"])
    token = t.crc_base62(prefix)
    alt = t.pick([c for c in ALNUM if c != token[-1]])
    name = "NPM_TOKEN" if prefix == "npm_" else t.pick(["GITHUB_TOKEN", "token", "gh_token"])
    return name, token[:-1] + alt


def redacted(t: BenchTokens) -> str:
    return t.pick(
        [
            "ghp_" + "*" * 32 + t.chars(ALNUM, 4),
            "sk_live_…" + t.chars(ALNUM, 4),
            "xoxb-****-****-" + "*" * 20 + t.chars(ALNUM, 4),
            "AKIA************" + t.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4),
            "sk-proj-…" + t.chars(ALNUM, 4),
            t.chars(ALNUM, 4) + "…" + t.chars(ALNUM, 4),
        ]
    )


def jwt_shaped(t: BenchTokens) -> str:
    """Three dot-separated base64url segments that do not decode to a JWT header/payload."""
    r = t.rng.random()
    if r < 0.4:
        return "eyJ" + t.chars(URLSAFE, 30) + "." + t.chars(URLSAFE, 60) + "." + t.chars(URLSAFE, 43)
    if r < 0.7:
        hdr = t.b64url_json({"typ": "JWT"})  # no alg: not a JWT header
        return hdr + "." + t.chars(URLSAFE, 50) + "." + t.chars(URLSAFE, 43)
    return t.chars(URLSAFE, 20) + "." + t.chars(URLSAFE, 40) + "." + t.chars(URLSAFE, 30)


def cursor(t: BenchTokens) -> str:
    obj = {"id": t.rng.randint(1000, 10**7), "ts": t.rng.randint(1700000000, 1760000000), "dir": "next"}
    return base64.b64encode(json.dumps(obj).encode()).decode()


def unsigned_jwt_docs(t: BenchTokens) -> str:
    return t.pick(["header.payload.signature", "xxxxx.yyyyy.zzzzz", "<jwt>", "eyJhbGciOi..."])


def random_url(t: BenchTokens) -> str:
    return t.pick(
        [
            f"https://www.youtube.com/watch?v={t.chars(URLSAFE, 11)}",
            f"https://docs.google.com/document/d/1{t.chars(URLSAFE, 43)}/edit",
            f"https://docs.google.com/spreadsheets/d/1{t.chars(URLSAFE, 43)}/edit#gid=0",
            f"https://drive.google.com/file/d/1{t.chars(URLSAFE, 32)}/view?usp=sharing",
            f"https://www.figma.com/file/{t.chars(ALNUM, 22)}/Design-System",
            f"https://www.notion.so/acme/Runbook-{t.hexs(32)}",
            f"https://gist.github.com/jdoe/{t.hexs(32)}",
            f"https://github.com/acme/platform/commit/{sha1(t)}",
            f"https://cdn.acme.io/static/js/main.{t.hexs(8)}.chunk.js",
            f"https://images.unsplash.com/photo-{t.digits(13)}-{t.hexs(12)}?auto=format&fit=crop&w=1200",
            f"https://res.cloudinary.com/acme/image/upload/v{t.digits(10)}/{t.chars(LOWER_ALNUM, 20)}.jpg",
            f"https://s3.amazonaws.com/acme-uploads/{t.uuid4()}/avatar.png",
            f"https://acme.atlassian.net/browse/OPS-{t.rng.randint(100, 9999)}",
        ]
    )


def public_ids(t: BenchTokens) -> tuple[str, str]:
    up = string.ascii_uppercase + "0123456789"
    return t.pick(
        [
            ("STRIPE_PUBLISHABLE_KEY", "pk_live_" + t.chars(ALNUM, 99)),
            ("publishableKey", "pk_test_" + t.chars(ALNUM, 99)),
            (
                "MAPBOX_ACCESS_TOKEN",
                "pk."
                + t.b64url_json({"u": "acme-maps", "a": "cl" + t.chars(LOWER_ALNUM, 23)})
                + "."
                + t.chars(URLSAFE, 22),
            ),
            ("TWILIO_ACCOUNT_SID", "AC" + t.hexs(32)),
            ("GOOGLE_CLIENT_ID", f"{t.digits(12)}-{t.chars(LOWER_ALNUM, 32)}.apps.googleusercontent.com"),
            ("SENTRY_DSN", f"https://{t.hexs(32)}@o{t.digits(6)}.ingest.sentry.io/{t.digits(7)}"),
            ("customer_id", "cus_" + t.chars(ALNUM, 14)),
            ("price_id", "price_" + t.chars(ALNUM, 24)),
            ("payment_intent", "pi_" + t.chars(ALNUM, 24)),
            ("account", "acct_" + t.chars(ALNUM, 16)),
            ("event_id", "evt_" + t.chars(ALNUM, 24)),
            ("measurementId", "G-" + t.chars(up, 10)),
            ("appId", f"1:{t.digits(12)}:web:{t.hexs(22)}"),
            ("channel_id", "C0" + t.chars(up, 9)),
            (
                "secret_arn",
                f"arn:aws:secretsmanager:us-east-1:{t.digits(12)}:secret:prod/db-password-{t.chars(ALNUM, 6)}",
            ),
            ("kms_key_arn", f"arn:aws:kms:eu-west-1:{t.digits(12)}:key/{t.uuid4()}"),
            ("role_arn", f"arn:aws:iam::{t.digits(12)}:role/{t.pick(['deploy', 'ci-runner', 'lambda-exec'])}"),
        ]
    )


def bcrypt_or_pbkdf2(t: BenchTokens) -> str:
    bc = "./" + string.ascii_letters + string.digits
    return t.pick(
        [
            "$2b$12$" + t.chars(bc, 53),
            f"pbkdf2_sha256$600000${t.chars(ALNUM, 22)}${base64.b64encode(t.randbytes(32)).decode()}",
            "$argon2id$v=19$m=65536,t=3,p=4$"
            + base64.b64encode(t.randbytes(16)).decode().rstrip("=")
            + "$"
            + base64.b64encode(t.randbytes(32)).decode().rstrip("="),
        ]
    )


def base64_blob(t: BenchTokens) -> str:
    return t.pick(
        [
            base64.b64encode(tiny_png(t)).decode(),
            base64.b64encode(b"wOF2\x00\x01\x00\x00" + t.randbytes(60)).decode(),
            base64.b64encode(t.randbytes(t.rng.choice([32, 48, 64]))).decode(),
        ]
    )


def ansible_vault(t: BenchTokens) -> str:
    body = "".join(t.chars(HEX, 80) for _ in range(4))
    return "$ANSIBLE_VAULT;1.1;AES256\n" + "\n".join(body[i : i + 80] for i in range(0, len(body), 80))


def regex_literal(t: BenchTokens) -> str:
    return t.pick(
        [
            r"ghp_[A-Za-z0-9]{36}",
            r"xox[baprs]-[0-9A-Za-z-]{10,48}",
            r"AKIA[0-9A-Z]{16}",
            r"sk_live_[0-9a-zA-Z]{24}",
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
            r"glpat-[0-9A-Za-z_-]{20}",
        ]
    )


DECOYS: tuple[Decoy, ...] = (
    Decoy("hash.sha1", ("commit", "GIT_SHA", "revision", "sha", "last_commit", "ref"), lambda t, _l: _v(sha1(t)), 4),
    Decoy(
        "hash.sha256",
        ("checksum", "sha256", "digest", "content_hash", "cache_key", "token_hash", "api_key_sha256", "fingerprint"),
        lambda t, _l: _v(sha256(t)),
        5,
    ),
    Decoy("hash.md5", ("md5", "etag", "checksum_md5", "file_hash"), lambda t, _l: _v(md5(t)), 3),
    Decoy("hash.sha512-integrity", ("integrity",), lambda t, _l: _v("sha512-" + sha512_b64(t)), 2),
    Decoy(
        "hash.password-hash",
        ("password_hash", "hashed_password", "PASSWORD_HASH", "admin_password_hash"),
        lambda t, _l: _v(bcrypt_or_pbkdf2(t)),
        2,
    ),
    Decoy(
        "uuid",
        (
            "request_id",
            "tenant_id",
            "client_id",
            "subscription_id",
            "correlation_id",
            "trace_id",
            "installation_id",
            "AZURE_CLIENT_ID",
            "AZURE_TENANT_ID",
            "project_id",
            "workspace_id",
            "app_id",
            "kms_key_id",
            "session_id",
        ),
        lambda t, _l: _v(t.uuid4()),
        5,
    ),
    Decoy("base64.data-uri", ("logo", "icon", "placeholder_image", "avatar"), lambda t, _l: _v(data_uri(t)), 2),
    Decoy(
        "base64.blob",
        ("icon_png", "thumbnail_b64", "font_data", "nonce_b64", "salt_b64", "payload"),
        lambda t, _l: _v(base64_blob(t)),
        2,
    ),
    Decoy(
        "url.random-id",
        ("url", "link", "docs_url", "video", "design", "runbook", "image_url"),
        lambda t, _l: _v(random_url(t)),
        4,
    ),
    Decoy(
        "jwt-shaped",
        ("etag", "cache_key", "cursor", "version_tag", "trace_context"),
        lambda t, _l: _v(jwt_shaped(t)),
        2,
    ),
    Decoy("base64.cursor", ("cursor", "next_page", "page_token", "continuation"), lambda t, _l: _v(cursor(t)), 2),
    Decoy("jwt-docs", ("token", "id_token", "Authorization"), lambda t, _l: _v(unsigned_jwt_docs(t)), 1),
    Decoy(
        "placeholder",
        (
            "api_key",
            "API_TOKEN",
            "password",
            "SECRET_KEY",
            "GITHUB_TOKEN",
            "client_secret",
            "STRIPE_SECRET_KEY",
            "token",
            "OPENAI_API_KEY",
            "DB_PASSWORD",
            "auth_token",
        ),
        lambda t, _l: _v(t.pick(PLACEHOLDERS)),
        5,
    ),
    Decoy(
        "placeholder.provider-shaped",
        (
            "GITHUB_TOKEN",
            "STRIPE_SECRET_KEY",
            "OPENAI_API_KEY",
            "AWS_ACCESS_KEY_ID",
            "SLACK_BOT_TOKEN",
            "token",
            "api_key",
            "SENDGRID_API_KEY",
            "HF_TOKEN",
        ),
        lambda t, _l: _v(placeholder_shaped(t)),
        3,
    ),
    Decoy(
        "docs-example",
        (
            "AWS_ACCESS_KEY_ID",
            "aws_secret_access_key",
            "GITHUB_TOKEN",
            "STRIPE_SECRET_KEY",
            "SLACK_BOT_TOKEN",
            "GITLAB_TOKEN",
            "OPENAI_API_KEY",
        ),
        lambda t, _l: _v(docs_example(t)),
        2,
    ),
    Decoy(
        "env-reference",
        (
            "api_key",
            "password",
            "GITHUB_TOKEN",
            "DATABASE_URL",
            "token",
            "secret",
            "AWS_SECRET_ACCESS_KEY",
            "STRIPE_SECRET_KEY",
            "SLACK_WEBHOOK_URL",
            "client_secret",
        ),
        lambda t, lang: _env_ref(
            t.pick(
                [
                    "API_KEY",
                    "DB_PASSWORD",
                    "GITHUB_TOKEN",
                    "SECRET_KEY",
                    "AUTH_TOKEN",
                    "STRIPE_SECRET_KEY",
                    "SLACK_TOKEN",
                ]
            ),
            lang,
        ),
        6,
    ),
    Decoy(
        "template-reference",
        ("password", "api_key", "token", "secret"),
        lambda t, lang: _template_ref(t.pick(["db_password", "api_key", "auth_token"]), lang),
        2,
    ),
    Decoy(
        "test-fixture",
        ("password", "api_key", "token", "secret", "TEST_API_KEY", "client_secret", "auth_token"),
        lambda t, _l: _v(t.pick(FIXTURES)),
        4,
    ),
    Decoy("wrong-checksum", ("GITHUB_TOKEN", "token", "NPM_TOKEN", "gh_token"), lambda t, _l: _v(wrong_checksum(t)), 1),
    Decoy("redacted", ("token", "api_key", "key_preview", "GITHUB_TOKEN"), lambda t, _l: _v(redacted(t)), 2),
    Decoy(
        "public-id",
        (
            "STRIPE_PUBLISHABLE_KEY",
            "publishableKey",
            "MAPBOX_ACCESS_TOKEN",
            "TWILIO_ACCOUNT_SID",
            "GOOGLE_CLIENT_ID",
            "SENTRY_DSN",
            "customer_id",
            "price_id",
            "payment_intent",
            "account",
            "event_id",
            "measurementId",
            "appId",
            "channel_id",
            "secret_arn",
            "kms_key_arn",
            "role_arn",
        ),
        lambda t, _l: _v(public_ids(t)),
        6,
    ),
    Decoy("regex-literal", ("TOKEN_PATTERN", "pattern", "regex"), lambda t, _l: _v(regex_literal(t)), 1),
    Decoy(
        "ssh-public-key",
        ("ssh_authorized_key", "public_key", "SSH_PUBLIC_KEY"),
        lambda t, _l: _v(ssh_public_line(t)),
        2,
    ),
    Decoy(
        "public-key-pem", ("public_key", "PUBLIC_KEY", "jwt_public_key"), lambda t, _l: _v(public_pem(t)), 1, block=True
    ),
    Decoy(
        "certificate-pem", ("ca_cert", "tls_crt", "certificate"), lambda t, _l: _v(certificate_pem(t)), 1, block=True
    ),
    Decoy("ansible-vault", ("db_password", "api_token"), lambda t, _l: _v(ansible_vault(t)), 1, block=True),
)
