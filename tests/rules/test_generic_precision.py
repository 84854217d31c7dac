"""Generic rules: zero findings on realistic near-miss config lines, full recall on real-looking assignments.

Every value here is generated at test time (random strong values for positives; references, placeholders,
hashes, identifiers and other non-secrets for negatives), in the syntaxes people actually write: YAML, JSON,
.env, INI/properties, TOML, XML, shell, Dockerfile, Terraform, Python/JS/Go/Ruby/PHP, CLI flags and HTTP headers.
"""

from __future__ import annotations

import base64
import random
import string
import uuid
from collections.abc import Iterator

import pytest

from tokenward.checks.placeholder import generic_reject_reason, is_wordy
from tokenward.engine import Matcher, RawMatch
from tokenward.rules.compile import compile_rules
from tokenward.rules.spec import load_rules

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
SYMBOLS = "!#%*+-_.~^"

PASSWORD_KEYS = ["password", "db_password", "DB_PASSWORD", "dbPassword", "smtp_pass", "MYSQL_ROOT_PASSWORD",
                 "admin_pwd", "passphrase", "redis.password", "keystorePassword", "PGPASSWORD", "ldap_bind_password"]
SECRET_KEYS = ["client_secret", "SECRET_KEY", "app_secret", "webhookSecret", "JWT_SECRET", "session.secret",
               "consumer_secret", "OAUTH_CLIENT_SECRET"]
TOKEN_KEYS = ["access_token", "AUTH_TOKEN", "apiToken", "refresh_token", "bot_token", "DEPLOY_TOKEN",
              "personalAccessToken"]
API_KEY_KEYS = ["api_key", "API_KEY", "apiKey", "x-api-key", "ACCESS_KEY", "encryption_key", "master_key",
                "signingKey"]
ALL_KEYS = PASSWORD_KEYS + SECRET_KEYS + TOKEN_KEYS + API_KEY_KEYS

# Assignment syntaxes; {k} is the key, {v} the value.
SYNTAXES = [
    '{k} = "{v}"', "{k} = '{v}'", "{k}: {v}", "{k}: '{v}'", '{k}: "{v}"', '"{k}": "{v}",', "{k}={v}",
    'export {k}="{v}"', "export {k}={v}", "ENV {k}={v}", "ARG {k}={v}", '{k} := "{v}"', 'const {k} = "{v}";',
    '${k} = "{v}";', "'{k}' => '{v}',", ':{k} => "{v}"', '{k}: "{v}",', "  - {k}={v}", 'set {k}={v}',
    '$env:{k} = "{v}"', "{k} = {v}  # rotated 2024-05", '{k}: str = "{v}"', '<{k}>{v}</{k}>',
    '<add key="{k}" value="{v}" />', 'var {k} = `{v}`', '{k}="{v}" ./run.sh', 'resource "x" "y" {{ {k} = "{v}" }}',
]
SPACE_SYNTAXES = ["ENV {k} {v}", "--{k} {v}", "setenv {k} {v}"]


class Gen:
    """Seeded generator of values and lines."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def strong(self) -> str:
        """A generated credential: mixed case, digits, sometimes symbols, 12-40 chars."""
        while True:
            value = self.chars(ALNUM + (SYMBOLS if self.rng.random() < 0.5 else ""), self.rng.randint(12, 40))
            if (value[0] not in "-#!" and any(c.isupper() for c in value) and any(c.islower() for c in value)
                    and any(c.isdigit() for c in value)):
                return value

    def hexs(self, n: int) -> str:
        return self.chars(HEX, n)

    def key(self, pool: list[str] | None = None) -> str:
        return self.rng.choice(pool or ALL_KEYS)


def non_secret_values(g: Gen, key: str) -> list[str]:
    """Values that sit next to secret-named keys in real files but are not credentials."""
    up = key.upper().replace(".", "_").replace("-", "_")
    return [
        f"${{{up}}}", f"${up}", f"${{{up}:-}}", f"%{up}%", f"$({up})", "{{ .Values." + key + " }}",
        "{{ " + key + " }}", "${{ secrets." + up + " }}", f'os.environ["{up}"]', f"os.getenv('{up}')",
        f"process.env.{up}", f'ENV["{up}"]', f'System.getenv("{up}")', f"settings.{up}", f"config.{key}",
        f"var.{key.lower()}", f"local.{key.lower()}", f"!Ref {up.title()}", f"#{{{up}}}#", f"__{up}__",
        f"<{key.lower()}>", f"<your-{key.lower()}>", f"your_{key.lower()}_here", "changeme", "CHANGE_ME",
        "xxxxxxxxxxxxxxxx", "****************", "REPLACE_ME", "TODO", "example-value-123", "dummy-secret-value",
        "test1234", "secret123", "Password1!", "P@ssw0rd2024", "SuperSecretPassword", "MyDatabasePassword2024!",
        "Welcome2024!", "correcthorsebatterystaple", "letmein", "admin",
        g.hexs(16), f"sha256:{g.hexs(64)}", "$2b$12$" + g.chars(ALNUM + "./", 53),
        str(uuid.UUID(int=g.rng.getrandbits(128))), "1.24.3", "v2.10.4-beta.1", "2024-05-01T12:00:00Z",
        "/run/secrets/" + key.lower(), "./secrets/key.json", "~/.ssh/id_ed25519", "C:\\secrets\\api.txt",
        "secret/data/payments/db", "https://vault.corp.invalid/v1/secret/data/app", "ops@corp.invalid",
        "db.internal.corp.invalid", "10.20.30.40", "123456789012", up, key, "prod-db-password",
        "get_random_secret_key()", "getpass.getpass()", "generate_token(32)", "aaaaaaaaaaaa", "abababababababab",
        "true", "none", "null", "", "Enter your password", "bearer", "vault:secret/data/app#password",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db", "ENC(" + g.chars(ALNUM, 32) + ")", "Passwort",
        "Contraseña", "%env(" + up + ")%", "django-insecure-" + g.chars(ALNUM + "!@#$%^&*-_=+", 50),
        base64.b64encode(b"password123").decode(), base64.b64encode(b"change-me-please").decode(),
        "SecretStr", "Optional[str]", "settings." + up, "random_password.db.result", "TokenHttpNotFound",
        "Access-Control-Allow-Credentials", "e.AbstractTokenNode=e.AbstractNode", "!!r.withCredentials",
    ]


def negative_lines(g: Gen) -> Iterator[str]:
    """A few hundred non-secret lines across syntaxes."""
    for value in non_secret_values(g, g.key()):
        for syntax in g.rng.sample(SYNTAXES, 3):
            yield syntax.format(k=g.key(), v=value)
    # Hex digits under a password's name are the password's hash. Under a key's, secret's or token's name they
    # are the credential itself (generated keys are often hex): positive_lines plants those.
    for value in (g.hexs(24), g.hexs(32), g.hexs(40), g.hexs(64)):
        for syntax in g.rng.sample(SYNTAXES, 3):
            yield syntax.format(k=g.key(PASSWORD_KEYS), v=value)
    strong = g.strong
    yield from [
        "min_password_length = 12", "password_min_length: 8", 'token_type = "bearer"', "max_tokens: 4096",
        "TOKEN_EXPIRY_SECONDS=3600", f"password_hash = \"{strong()}\"", f"public_key: {strong()}",
        f"api_key_id: {strong()}", f"next_page_token: {strong()}", f"token_url: https://login.corp.invalid/{strong()}",
        f"secretName: {strong().lower()}", f'csrf_token_name = "{strong()}"', f"password_reset_url={strong()}",
        "checksum/secret: " + g.hexs(64), 'pad_token: "[PAD]"', 'tokenizer = "bert-base-uncased"',
        '"forgot_password": "Forgot your password?"', '"password_label": "Password"', 'kind: Secret',
        "SECRET_KEY = get_random_secret_key()", 'api_key = os.environ["API_KEY"]', "password: ${DB_PASSWORD}",
        "client_id: " + str(uuid.UUID(int=g.rng.getrandbits(128))), "secrets: inherit",
        "        - name: DB_PASSWORD\n          valueFrom:\n            secretKeyRef:\n"
        "              name: db\n              key: password",
        "docker login --password-stdin -u ci registry.corp.invalid", "mysql -u root -p shop",
        'headers = {"Authorization": f"Bearer {token}"}', "Authorization: Bearer $ACCESS_TOKEN",
        "Authorization: Basic " + base64.b64encode(b"user:password").decode(), "curl -u $USER:$PASS https://api",
        "password_policy: strict", f"token_expires_at: {g.rng.randint(10**9, 2 * 10**9)}",
        f"bypass = {strong()}", f"compass_heading = {strong()}", f"passenger_id = {strong()}",
        f"keyboard_layout = {strong()}", f"monkey = {strong()}",
    ]


def positive_lines(g: Gen) -> Iterator[tuple[str, str]]:
    """(line, secret) pairs across syntaxes."""
    for syntax in SYNTAXES:
        for _ in range(3):
            value = g.strong()
            yield syntax.format(k=g.key(), v=value), value
    for syntax in SPACE_SYNTAXES:
        value = g.strong()
        yield syntax.format(k=g.rng.choice(["DB_PASSWORD", "API_TOKEN", "CLIENT_SECRET"]), v=value), value
    for syntax in SYNTAXES:  # generated keys in hex, under a key's, secret's or token's name
        value = g.hexs(g.rng.choice([24, 32, 40, 64]))
        yield syntax.format(k=g.key(SECRET_KEYS + TOKEN_KEYS + API_KEY_KEYS), v=value), value
    token = g.chars(ALNUM, 40)
    yield f"curl -H 'Authorization: Bearer {token}' https://api.corp.invalid", token
    user_pass = f"svc-ci:{g.strong()}"
    encoded = base64.b64encode(user_pass.encode()).decode()
    yield f"Authorization: Basic {encoded}", encoded
    value = g.strong()
    yield f"mysqldump -uroot -p'{value}' --all-databases", value
    value = g.strong()
    yield f"CREATE USER 'etl'@'%' IDENTIFIED BY '{value}';", value
    value = g.strong()
    yield f"machine api.corp.invalid login ops password {value}", value
    value = g.strong()
    yield f"- name: DB_PASSWORD\n  value: \"{value}\"", value


@pytest.fixture(scope="module")
def generic_matcher() -> Matcher:
    return Matcher(compile_rules(load_rules(), cache=False))


def _generic(matches: list[RawMatch]) -> list[RawMatch]:
    return [m for m in matches if m.rule.spec.generic]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_generic_findings_on_near_misses(generic_matcher: Matcher, seed: int) -> None:
    lines = list(negative_lines(Gen(seed)))
    assert len(lines) > 200
    bad = [(line, [(m.rule.spec.id, m.secret.decode(errors="replace")) for m in found])
           for line in lines if (found := _generic(generic_matcher.scan(line.encode())))]
    assert not bad, "\n".join(f"{line!r} -> {hits}" for line, hits in bad[:20])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_full_recall_on_generated_credentials(generic_matcher: Matcher, seed: int) -> None:
    pairs = list(positive_lines(Gen(seed)))
    missed = [line for line, secret in pairs
              if secret.encode() not in {m.secret for m in generic_matcher.scan(line.encode())}]
    assert not missed, "\n".join(repr(m) for m in missed)


def test_generated_values_pass_the_value_filter() -> None:
    g = Gen(99)
    values = [g.strong().encode() for _ in range(3000)]
    rejected = [(v, generic_reject_reason(v)) for v in values if generic_reject_reason(v)]
    assert len(rejected) <= len(values) // 200, rejected[:10]


@pytest.mark.parametrize("value, wordy", [
    (b"SuperSecretPassword", True), (b"MyDatabasePassword2024!", True), (b"prod_db_password", True),
    (b"Xq7TzP9kLm2Wv4Ns", False), (b"kHf83-Zq!pLw0", False),
])
def test_dictionary_word_detector(value: bytes, wordy: bool) -> None:
    assert is_wordy(value) is wordy


REASONS: list[tuple[bytes, str]] = [
    (b"${DB_PASSWORD}", "variable reference"), (b"9f2c4e1a7b3d5f608e1c2a4b6d8f0e13", "hash"),
    (b"1.24.3-rc.1", "version"), (b"deadbeefcafe4821", "short hex"), (b"prod-db-creds", "identifier"),
    (b"Xy7kQ2Xy7kQ2Xy7kQ2", "repeated"), (b"Welcome2024!", "dictionary words"),
]


@pytest.mark.parametrize("value, reason", REASONS)
def test_reject_reasons(value: bytes, reason: str) -> None:
    assert generic_reject_reason(value) == reason
