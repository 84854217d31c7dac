"""Format-valid fake tokens for the evaluation set, one generator per provider token kind.

Every format here is written from the provider's own documentation of its token format (prefix,
alphabet, length, checksum); values are random, built at benchmark time from a fixed seed, and never
stored in the repository. `BenchTokens` extends the test suite's `TokenFactory` (tests/tokens.py).
"""

from __future__ import annotations

import base64
import json
import string
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from tests.tokens import ALNUM, B64, HEX, URLSAFE, TokenFactory

BASE32_UPPER = string.ascii_uppercase + "234567"
UPPER_DIGITS = string.ascii_uppercase + string.digits
LETTERS = string.ascii_letters
DIGITS = string.digits
LOWER_ALNUM = string.ascii_lowercase + string.digits
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
PASSWORD_SYMBOLS = "!#%^*-_=+.@"

CLOUD, DEVTOOLS, SAAS, GENERIC, KEYS, JWT, URL = (
    "cloud",
    "devtools",
    "comms/payments/AI",
    "generic/password",
    "private keys",
    "JWT",
    "URL credentials",
)
FAMILIES = (CLOUD, DEVTOOLS, SAAS, GENERIC, KEYS, JWT, URL)


@dataclass(frozen=True)
class Secret:
    """A generated secret: the literal to embed plus what a scanner may legitimately report."""

    value: str  # what is written into the file (may contain the secret, e.g. a URL)
    secret: str  # the secret itself
    alternatives: tuple[str, ...] = ()  # other substrings a correct report may quote (key id, whole URL)


@dataclass(frozen=True)
class Kind:
    """One provider token kind: family, a label, the generator and realistic variable names."""

    family: str
    label: str
    make: Callable[[BenchTokens], Secret]
    names: tuple[str, ...]
    weight: int = 1


class BenchTokens(TokenFactory):
    """TokenFactory plus every provider format the accuracy benchmark plants."""

    def chars(self, alphabet: str, n: int) -> str:
        """n random characters of alphabet; mixes classes (as TokenFactory does) only when it can."""
        can_mix = len({c.isdigit() for c in alphabet} | {c.isupper() for c in alphabet}) > 1
        if can_mix:
            return super().chars(alphabet, n)
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def pick(self, seq):  # type: ignore[no-untyped-def]
        """One element of seq."""
        return self.rng.choice(seq)

    def digits(self, n: int, first_nonzero: bool = True) -> str:
        """n random decimal digits."""
        head = self.rng.choice("123456789") if first_nonzero else self.rng.choice(DIGITS)
        return head + "".join(self.rng.choice(DIGITS) for _ in range(n - 1))

    def hexs(self, n: int) -> str:
        """n random lowercase hex digits (mixed letters and digits)."""
        return self.chars(HEX, n)

    def uuid4(self) -> str:
        """A random version-4 UUID."""
        h = self.hexs(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{self.pick('89ab')}{h[17:20]}-{h[20:]}"

    def b64url_json(self, obj: dict[str, object]) -> str:
        """Unpadded URL-safe base64 of compact JSON."""
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def password(self, lo: int = 14, hi: int = 28) -> str:
        """A human-chosen-looking strong password: letters, digits and a few symbols."""
        n = self.rng.randint(lo, hi)
        while True:
            chars = [self.rng.choice(ALNUM) for _ in range(n)]
            for _ in range(self.rng.randint(1, 3)):
                chars[self.rng.randrange(1, n - 1)] = self.rng.choice(PASSWORD_SYMBOLS)
            value = "".join(chars)
            if any(c.isdigit() for c in value) and any(c.isupper() for c in value) and any(c.islower() for c in value):
                return value

    # --- bech32 (age secret keys) -------------------------------------------------------------
    @staticmethod
    def _polymod(values: list[int]) -> int:
        gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
        chk = 1
        for v in values:
            top = chk >> 25
            chk = (chk & 0x1FFFFFF) << 5 ^ v
            for i in range(5):
                chk ^= gen[i] if (top >> i) & 1 else 0
        return chk

    def bech32(self, hrp: str, payload: bytes) -> str:
        """Bech32 encoding of payload under the human-readable part hrp."""
        acc, bits, data = 0, 0, []
        for byte in payload:
            acc, bits = (acc << 8) | byte, bits + 8
            while bits >= 5:
                bits -= 5
                data.append((acc >> bits) & 31)
        if bits:
            data.append((acc << (5 - bits)) & 31)
        expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
        pm = self._polymod([*expanded, *data, 0, 0, 0, 0, 0, 0]) ^ 1
        checksum = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
        return hrp + "1" + "".join(BECH32[d] for d in data + checksum)

    def randbytes(self, n: int) -> bytes:
        """n random bytes from the seeded generator."""
        return bytes(self.rng.getrandbits(8) for _ in range(n))


def _s(value: str, *alts: str) -> Secret:
    return Secret(value, value, tuple(alts))


# ---------------------------------------------------------------------------------------------------
# Cloud
# ---------------------------------------------------------------------------------------------------


def aws_key_id(t: BenchTokens) -> Secret:
    return _s(t.pick(["AKIA", "AKIA", "AKIA", "ASIA"]) + t.chars(BASE32_UPPER, 16))


def aws_secret(t: BenchTokens) -> Secret:
    return _s(t.chars(B64, 40))


def aws_session_token(t: BenchTokens) -> Secret:
    return _s("IQoJb3JpZ2luX2Vj" + t.chars(B64, t.rng.randint(300, 600)) + t.pick(["", "=", "=="]))


def google_api_key(t: BenchTokens) -> Secret:
    return _s("AIza" + t.chars(URLSAFE, 35))


def google_client_secret(t: BenchTokens) -> Secret:
    return _s("GOCSPX-" + t.chars(URLSAFE, 28))


def google_refresh_token(t: BenchTokens) -> Secret:
    return _s("1//0" + t.pick(LETTERS) + t.chars(URLSAFE, t.rng.randint(90, 100)))


def azure_client_secret(t: BenchTokens) -> Secret:
    alphabet = ALNUM + "_~.-"
    return _s(t.chars(alphabet, 3) + "8Q~" + t.chars(alphabet, 34))


def azure_storage_conn(t: BenchTokens) -> Secret:
    account = t.chars(string.ascii_lowercase + DIGITS, t.rng.randint(6, 16))
    key = t.chars(B64, 86) + "=="
    value = f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key};EndpointSuffix=core.windows.net"
    return Secret(value, key, (value,))


def azure_sas_url(t: BenchTokens) -> Secret:
    account = t.chars(string.ascii_lowercase, t.rng.randint(6, 12))
    sig = t.chars(B64, 43) + "="
    enc = sig.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    value = (
        f"https://{account}.blob.core.windows.net/{t.pick(['backups', 'uploads', 'exports'])}/"
        f"{t.pick(['db.dump', 'report.csv', 'data.parquet'])}?sv=2022-11-02&ss=b&srt=sco&sp=rl"
        f"&se=2026-03-01T00:00:00Z&st=2025-01-01T00:00:00Z&spr=https&sig={enc}"
    )
    return Secret(value, enc, (value, sig))


def digitalocean_pat(t: BenchTokens) -> Secret:
    return _s(t.pick(["dop_v1_", "dop_v1_", "doo_v1_"]) + t.hexs(64))


def databricks_pat(t: BenchTokens) -> Secret:
    return _s("dapi" + t.hexs(32) + t.pick(["", "", "-2"]))


def cloudflare_token(t: BenchTokens) -> Secret:
    return _s(t.chars(URLSAFE, 40))


def cloudflare_origin_ca(t: BenchTokens) -> Secret:
    return _s("v1.0-" + t.hexs(24) + "-" + t.hexs(146))


def heroku_key(t: BenchTokens) -> Secret:
    return _s("HRKU-AA" + t.chars(URLSAFE, 58))


def alibaba_key_id(t: BenchTokens) -> Secret:
    return _s("LTAI" + t.chars(ALNUM, t.rng.choice([20, 20, 16])))


def vault_token(t: BenchTokens) -> Secret:
    return _s("hvs." + t.chars(ALNUM, 24))


def terraform_cloud(t: BenchTokens) -> Secret:
    return _s(t.chars(ALNUM, 14) + ".atlasv1." + t.chars(ALNUM, 67))


def supabase_pat(t: BenchTokens) -> Secret:
    return _s("sbp_" + t.hexs(40))


def doppler_token(t: BenchTokens) -> Secret:
    return _s(t.pick(["dp.pt.", "dp.st.", "dp.sa."]) + t.chars(ALNUM, 43))


def pulumi_token(t: BenchTokens) -> Secret:
    return _s("pul-" + t.hexs(40))


def planetscale_token(t: BenchTokens) -> Secret:
    return _s(t.pick(["pscale_tkn_", "pscale_pw_"]) + t.chars(URLSAFE, 43))


def tailscale_key(t: BenchTokens) -> Secret:
    return _s("tskey-" + t.pick(["auth", "api"]) + "-k" + t.chars(ALNUM, 11) + "CNTRL-" + t.chars(ALNUM, 33))


def fcm_server_key(t: BenchTokens) -> Secret:
    return _s("AAAA" + t.chars(URLSAFE, 7) + ":APA91b" + t.chars(URLSAFE, 134))


def ibm_cloud_key(t: BenchTokens) -> Secret:
    return _s(t.chars(URLSAFE, 44))


def gcp_service_account(t: BenchTokens) -> Secret:
    # The JSON key file's private_key_id and its PKCS#8 key; rendered as a whole file by corpus.py.
    return Secret(t.hexs(40), t.hexs(40))


# ---------------------------------------------------------------------------------------------------
# Developer tools
# ---------------------------------------------------------------------------------------------------


def github(prefix: str) -> Callable[[BenchTokens], Secret]:
    return lambda t: _s(t.crc_base62(prefix))


def github_fine_grained(t: BenchTokens) -> Secret:
    return _s("github_pat_" + "11" + t.chars(UPPER_DIGITS, 20) + "_" + t.chars(ALNUM, 59))


def gitlab(prefix: str, n: int = 20, alphabet: str = URLSAFE) -> Callable[[BenchTokens], Secret]:
    def make(t: BenchTokens) -> Secret:
        while True:
            body = t.chars(alphabet, n)
            if body[0] not in "-_" and body[-1] not in "-_":
                return _s(prefix + body)

    return make


def npm_token(t: BenchTokens) -> Secret:
    return _s(t.crc_base62("npm_"))


def pypi_token(t: BenchTokens) -> Secret:
    macaroon = (
        b"\x02\x01\x08pypi.org\x02"
        + bytes([t.rng.choice([0x25, 0x26])])
        + t.randbytes(4)
        + b'\x00\x02*["api"]'
        + t.randbytes(t.rng.randint(110, 150))
    )
    return _s("pypi-" + base64.urlsafe_b64encode(macaroon).decode().rstrip("="))


def docker_pat(t: BenchTokens) -> Secret:
    return _s("dckr_pat_" + t.chars(URLSAFE, 27))


def atlassian_token(t: BenchTokens) -> Secret:
    body = t.chars(URLSAFE, 171)
    return _s("ATATT3xFfGF0" + body + "=" + t.chars("0123456789ABCDEF", 8))


def bitbucket_app_password(t: BenchTokens) -> Secret:
    return _s("ATBB" + t.chars(ALNUM, 32))


def circleci_pat(t: BenchTokens) -> Secret:
    return _s("CCIPAT_" + t.chars(ALNUM, 22) + "_" + t.hexs(40))


def sentry_org_token(t: BenchTokens) -> Secret:
    claims = {
        "iat": t.rng.randint(1690000000, 1760000000),
        "url": "https://sentry.io",
        "region_url": "https://us.sentry.io",
        "org": t.pick(["acme", "globex", "initech", "umbrella"]),
    }
    return _s("sntrys_" + t.b64url_json(claims) + "_" + t.chars(ALNUM + "+/", 43))


def sentry_user_token(t: BenchTokens) -> Secret:
    return _s("sntryu_" + t.hexs(64))


def grafana_sa(t: BenchTokens) -> Secret:
    body = "glsa_" + t.chars(ALNUM, 32)
    return _s(body + "_" + zlib.crc32(body.encode()).to_bytes(4, "little").hex())


def grafana_cloud(t: BenchTokens) -> Secret:
    claims = {
        "o": t.digits(6),
        "n": f"stack-{t.digits(6)}-hm-read",
        "k": t.chars(ALNUM, 24),
        "m": {"r": t.pick(["us", "eu", "prod-us-east-0"])},
    }
    return _s("glc_" + base64.b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("="))


def newrelic_user_key(t: BenchTokens) -> Secret:
    return _s("NRAK-" + t.chars(UPPER_DIGITS, 27))


def datadog_api_key(t: BenchTokens) -> Secret:
    return _s(t.hexs(32))


def datadog_app_key(t: BenchTokens) -> Secret:
    return _s(t.hexs(40))


def dynatrace_token(t: BenchTokens) -> Secret:
    return _s("dt0c01." + t.chars(UPPER_DIGITS, 24) + "." + t.chars(UPPER_DIGITS, 64))


def postman_key(t: BenchTokens) -> Secret:
    return _s("PMAK-" + t.hexs(24) + "-" + t.hexs(34))


def linear_key(t: BenchTokens) -> Secret:
    return _s("lin_api_" + t.chars(ALNUM, 40))


def figma_pat(t: BenchTokens) -> Secret:
    return _s("figd_" + t.chars(URLSAFE, 40))


def rubygems_key(t: BenchTokens) -> Secret:
    return _s("rubygems_" + t.hexs(48))


def jfrog_api_key(t: BenchTokens) -> Secret:
    return _s("AKCp" + t.chars(ALNUM, 69))


def sonar_token(t: BenchTokens) -> Secret:
    return _s(t.pick(["squ_", "sqp_", "sqa_"]) + t.hexs(40))


def buildkite_token(t: BenchTokens) -> Secret:
    return _s("bkua_" + t.hexs(40))


def asana_pat(t: BenchTokens) -> Secret:
    return _s("1/" + t.digits(16) + ":" + t.hexs(32))


def contentful_pat(t: BenchTokens) -> Secret:
    return _s("CFPAT-" + t.chars(URLSAFE, 43))


def prefect_key(t: BenchTokens) -> Secret:
    return _s("pnu_" + t.chars(ALNUM, 36))


def clojars_token(t: BenchTokens) -> Secret:
    return _s("CLOJARS_" + t.hexs(60))


def readme_key(t: BenchTokens) -> Secret:
    return _s("rdme_" + t.hexs(70))


def mapbox_secret(t: BenchTokens) -> Secret:
    claims = {"u": t.pick(["acme-maps", "jdoe", "fleetops"]), "a": "cl" + t.chars(LOWER_ALNUM, 23)}
    return _s("sk." + t.b64url_json(claims) + "." + t.chars(URLSAFE, 22))


# ---------------------------------------------------------------------------------------------------
# Communications, payments, AI and other SaaS
# ---------------------------------------------------------------------------------------------------


def slack_bot(t: BenchTokens) -> Secret:
    return _s(f"xoxb-{t.digits(t.rng.randint(10, 13))}-{t.digits(t.rng.randint(10, 13))}-{t.chars(ALNUM, 24)}")


def slack_user(t: BenchTokens) -> Secret:
    return _s(f"xoxp-{t.digits(11)}-{t.digits(11)}-{t.digits(13)}-{t.hexs(32)}")


def slack_app(t: BenchTokens) -> Secret:
    return _s(f"xapp-1-A{t.chars(UPPER_DIGITS, 10)}-{t.digits(13)}-{t.hexs(64)}")


def slack_webhook(t: BenchTokens) -> Secret:
    return _s(
        f"https://hooks.slack.com/services/T{t.chars(UPPER_DIGITS, 8)}/B{t.chars(UPPER_DIGITS, 10)}/"
        f"{t.chars(ALNUM, 24)}"
    )


def discord_bot(t: BenchTokens) -> Secret:
    uid = t.pick("1") + t.digits(18, first_nonzero=False)
    head = base64.b64encode(uid.encode()).decode().rstrip("=")
    return _s(f"{head}.{t.chars(URLSAFE, 6)}.{t.chars(URLSAFE, 38)}")


def discord_webhook(t: BenchTokens) -> Secret:
    return _s(f"https://discord.com/api/webhooks/{t.digits(19)}/{t.chars(URLSAFE, 68)}")


def telegram_bot(t: BenchTokens) -> Secret:
    return _s(f"{t.digits(10)}:AA{t.chars(URLSAFE, 33)}")


def twilio_auth_token(t: BenchTokens) -> Secret:
    return _s(t.hexs(32))


def sendgrid_key(t: BenchTokens) -> Secret:
    return _s(f"SG.{t.chars(URLSAFE, 22)}.{t.chars(URLSAFE, 43)}")


def mailgun_key(t: BenchTokens) -> Secret:
    if t.rng.random() < 0.5:
        return _s("key-" + t.hexs(32))
    return _s(f"{t.hexs(32)}-{t.hexs(8)}-{t.hexs(8)}")


def mailchimp_key(t: BenchTokens) -> Secret:
    return _s(f"{t.hexs(32)}-us{t.rng.randint(1, 21)}")


def mandrill_key(t: BenchTokens) -> Secret:
    return _s("md-" + t.chars(URLSAFE, 22))


def postmark_token(t: BenchTokens) -> Secret:
    return _s(t.uuid4())


def stripe_secret(t: BenchTokens) -> Secret:
    n = t.pick([24, 99, 99])
    return _s(t.pick(["sk_live_", "sk_live_", "rk_live_", "sk_test_"]) + t.chars(ALNUM, n))


def stripe_webhook_secret(t: BenchTokens) -> Secret:
    return _s("whsec_" + t.chars(ALNUM, 32))


def square_token(t: BenchTokens) -> Secret:
    if t.rng.random() < 0.5:
        return _s("sq0csp-" + t.chars(URLSAFE, 43))
    return _s("EAAA" + t.chars(URLSAFE, 60))


def braintree_token(t: BenchTokens) -> Secret:
    return _s(f"access_token$production${t.chars(LOWER_ALNUM, 16)}${t.hexs(32)}")


def paystack_key(t: BenchTokens) -> Secret:
    return _s("sk_live_" + t.hexs(40))


def shopify_token(t: BenchTokens) -> Secret:
    return _s(t.pick(["shpat_", "shpat_", "shpss_", "shpca_"]) + t.hexs(32))


def flutterwave_key(t: BenchTokens) -> Secret:
    return _s(f"FLWSECK-{t.hexs(32)}-X")


def brevo_key(t: BenchTokens) -> Secret:
    return _s(f"xkeysib-{t.hexs(64)}-{t.chars(ALNUM, 16)}")


def teams_webhook(t: BenchTokens) -> Secret:
    tenant = t.pick(["contoso", "fabrikam", "northwind"])
    return _s(
        f"https://{tenant}.webhook.office.com/webhookb2/{t.uuid4()}@{t.uuid4()}/IncomingWebhook/"
        f"{t.hexs(32)}/{t.uuid4()}"
    )


def openai_key(t: BenchTokens) -> Secret:
    r = t.rng.random()
    if r < 0.5:
        return _s("sk-proj-" + t.chars(URLSAFE, 74) + "T3BlbkFJ" + t.chars(URLSAFE, 74))
    if r < 0.7:
        return _s("sk-svcacct-" + t.chars(URLSAFE, 74) + "T3BlbkFJ" + t.chars(URLSAFE, 74))
    return _s("sk-" + t.chars(ALNUM, 20) + "T3BlbkFJ" + t.chars(ALNUM, 20))


def anthropic_key(t: BenchTokens) -> Secret:
    return _s(t.pick(["sk-ant-api03-", "sk-ant-api03-", "sk-ant-admin01-"]) + t.chars(URLSAFE, 93) + "AA")


def huggingface_token(t: BenchTokens) -> Secret:
    return _s("hf_" + t.chars(LETTERS, 34))


def groq_key(t: BenchTokens) -> Secret:
    return _s("gsk_" + t.chars(ALNUM, 52))


def replicate_token(t: BenchTokens) -> Secret:
    return _s("r8_" + t.chars(ALNUM, 37))


def perplexity_key(t: BenchTokens) -> Secret:
    return _s("pplx-" + t.chars(ALNUM, 48))


def xai_key(t: BenchTokens) -> Secret:
    return _s("xai-" + t.chars(ALNUM, 80))


def langsmith_key(t: BenchTokens) -> Secret:
    return _s(f"lsv2_{t.pick(['pt', 'sk'])}_{t.hexs(32)}_{t.hexs(10)}")


def cohere_key(t: BenchTokens) -> Secret:
    return _s(t.chars(ALNUM, 40))


def mistral_key(t: BenchTokens) -> Secret:
    return _s(t.chars(ALNUM, 32))


def airtable_pat(t: BenchTokens) -> Secret:
    return _s(f"pat{t.chars(ALNUM, 14)}.{t.hexs(64)}")


def notion_token(t: BenchTokens) -> Secret:
    return _s("ntn_" + t.digits(11) + t.chars(ALNUM, 35))


# ---------------------------------------------------------------------------------------------------
# Generic secrets and passwords (no provider format: found by context only)
# ---------------------------------------------------------------------------------------------------


def generic_password(t: BenchTokens) -> Secret:
    return _s(t.password())


def generic_api_key(t: BenchTokens) -> Secret:
    return _s(t.chars(t.pick([ALNUM, ALNUM, HEX, URLSAFE]), t.pick([24, 32, 32, 40, 48])))


def django_secret(t: BenchTokens) -> Secret:
    return _s(t.chars(string.ascii_lowercase + DIGITS + "!@#%^&*(-_=+)", 50))


# ---------------------------------------------------------------------------------------------------
# URL credentials (the password is the secret; the whole URL is an acceptable report)
# ---------------------------------------------------------------------------------------------------


def url_credentials(t: BenchTokens) -> Secret:
    pw = "".join(c if c not in "#%^=+@" else t.pick("-_.~!*") for c in t.password(14, 24))
    user = t.pick(["app", "svc_billing", "deploy", "admin", "etl", "reporting", "api"])
    host = t.pick(
        [
            "db.internal.acme.io",
            "10.20.4.17",
            "pg-prod-1.c9xk2.eu-west-1.rds.amazonaws.com",
            "mysql.prod.svc.cluster.local",
            "cluster0.ab12c.mongodb.net",
            "redis-master.cache",
            "rabbitmq.queue.svc",
            "git.acme.io",
            "ftp.partner-files.com",
            "smtp.mailhost.net",
        ]
    )
    scheme, port, path = t.pick(
        [
            ("postgres", ":5432", "/app"),
            ("postgresql", ":5432", "/billing"),
            ("mysql", ":3306", "/shop"),
            ("mongodb+srv", "", "/events?retryWrites=true&w=majority"),
            ("redis", ":6379", "/0"),
            ("amqp", ":5672", "/vhost"),
            ("https", "", "/acme/platform.git"),
            ("ftp", ":21", "/outgoing"),
            ("smtp", ":587", ""),
        ]
    )
    if scheme == "redis" and t.rng.random() < 0.5:
        user = ""
    value = f"{scheme}://{user}:{pw}@{host}{port}{path}"
    return Secret(value, pw, (value,))


# ---------------------------------------------------------------------------------------------------
# JWT
# ---------------------------------------------------------------------------------------------------


def jwt_token(t: BenchTokens) -> Secret:
    alg = t.pick(["HS256", "HS256", "RS256", "ES256"])
    header = {"alg": alg, "typ": "JWT"}
    if alg != "HS256":
        header["kid"] = t.chars(ALNUM, 16)
    now = t.rng.randint(1700000000, 1760000000)
    claims: dict[str, object] = t.pick(
        [
            {"sub": t.uuid4(), "iat": now, "exp": now + 3600, "scope": "read:orders write:orders"},
            {
                "iss": "supabase",
                "ref": t.chars(string.ascii_lowercase, 20),
                "role": "service_role",
                "iat": now,
                "exp": now + 315360000,
            },
            {
                "iss": "https://auth.acme.io/",
                "aud": "api.acme.io",
                "sub": "auth0|" + t.hexs(24),
                "iat": now,
                "exp": now + 86400,
                "azp": t.chars(ALNUM, 32),
            },
            {"user_id": t.rng.randint(1000, 99999), "email": "ops@acme.io", "admin": True, "iat": now},
        ]
    )
    sig_len = {"HS256": 43, "RS256": 342, "ES256": 86}[alg]
    seg = t.b64url_json
    return _s(f"{seg(header)}.{seg(claims)}.{t.chars(URLSAFE, sig_len)}")


# ---------------------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------------------

KINDS: tuple[Kind, ...] = (
    Kind(CLOUD, "aws.access-key-id", aws_key_id, ("AWS_ACCESS_KEY_ID", "aws_access_key_id", "accessKeyId"), 3),
    Kind(
        CLOUD,
        "aws.secret-access-key",
        aws_secret,
        ("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key", "secretAccessKey"),
        3,
    ),
    Kind(CLOUD, "aws.session-token", aws_session_token, ("AWS_SESSION_TOKEN", "aws_session_token")),
    Kind(CLOUD, "google.api-key", google_api_key, ("GOOGLE_API_KEY", "apiKey", "MAPS_API_KEY", "key"), 2),
    Kind(CLOUD, "google.oauth-client-secret", google_client_secret, ("client_secret", "GOOGLE_CLIENT_SECRET")),
    Kind(CLOUD, "google.oauth-refresh-token", google_refresh_token, ("refresh_token", "GOOGLE_REFRESH_TOKEN")),
    Kind(CLOUD, "azure.entra-client-secret", azure_client_secret, ("AZURE_CLIENT_SECRET", "clientSecret")),
    Kind(
        CLOUD,
        "azure.storage-connection-string",
        azure_storage_conn,
        ("AZURE_STORAGE_CONNECTION_STRING", "connectionString", "StorageConnection"),
    ),
    Kind(CLOUD, "azure.sas-url", azure_sas_url, ("BACKUP_URL", "blob_url", "sasUrl")),
    Kind(CLOUD, "digitalocean.token", digitalocean_pat, ("DIGITALOCEAN_TOKEN", "do_token", "token")),
    Kind(CLOUD, "databricks.pat", databricks_pat, ("DATABRICKS_TOKEN", "token")),
    Kind(CLOUD, "cloudflare.api-token", cloudflare_token, ("CLOUDFLARE_API_TOKEN", "cloudflare_api_token")),
    Kind(CLOUD, "cloudflare.origin-ca-key", cloudflare_origin_ca, ("CF_ORIGIN_CA_KEY", "origin_ca_key")),
    Kind(CLOUD, "heroku.api-key", heroku_key, ("HEROKU_API_KEY", "heroku_token")),
    Kind(CLOUD, "alibaba.access-key-id", alibaba_key_id, ("ALIBABA_CLOUD_ACCESS_KEY_ID", "access_key_id")),
    Kind(CLOUD, "vault.token", vault_token, ("VAULT_TOKEN", "vault_token", "token")),
    Kind(CLOUD, "terraform.api-token", terraform_cloud, ("TFE_TOKEN", "token", "TF_TOKEN_app_terraform_io")),
    Kind(CLOUD, "supabase.pat", supabase_pat, ("SUPABASE_ACCESS_TOKEN", "token")),
    Kind(CLOUD, "doppler.token", doppler_token, ("DOPPLER_TOKEN", "token")),
    Kind(CLOUD, "pulumi.token", pulumi_token, ("PULUMI_ACCESS_TOKEN", "token")),
    Kind(CLOUD, "planetscale.token", planetscale_token, ("PLANETSCALE_SERVICE_TOKEN", "password")),
    Kind(CLOUD, "tailscale.key", tailscale_key, ("TS_AUTHKEY", "TAILSCALE_API_KEY", "authkey")),
    Kind(CLOUD, "firebase.fcm-server-key", fcm_server_key, ("FCM_SERVER_KEY", "serverKey")),
    Kind(CLOUD, "ibm.cloud-api-key", ibm_cloud_key, ("IBM_CLOUD_API_KEY", "ibmcloud_api_key")),
    Kind(CLOUD, "google.service-account-key", gcp_service_account, ("service_account",), 2),
    Kind(DEVTOOLS, "github.pat-classic", github("ghp_"), ("GITHUB_TOKEN", "GH_TOKEN", "token", "github_token"), 4),
    Kind(DEVTOOLS, "github.oauth-token", github("gho_"), ("access_token", "GITHUB_OAUTH_TOKEN")),
    Kind(DEVTOOLS, "github.user-to-server", github("ghu_"), ("token", "GITHUB_APP_USER_TOKEN")),
    Kind(DEVTOOLS, "github.server-to-server", github("ghs_"), ("GH_TOKEN", "installation_token")),
    Kind(DEVTOOLS, "github.refresh-token", github("ghr_"), ("refresh_token",)),
    Kind(DEVTOOLS, "github.pat-fine-grained", github_fine_grained, ("GITHUB_TOKEN", "GH_PAT", "token"), 2),
    Kind(DEVTOOLS, "gitlab.pat", gitlab("glpat-"), ("GITLAB_TOKEN", "private_token", "CI_TOKEN"), 2),
    Kind(DEVTOOLS, "gitlab.runner-token", gitlab("glrt-"), ("token", "RUNNER_TOKEN")),
    Kind(DEVTOOLS, "gitlab.deploy-token", gitlab("gldt-"), ("DEPLOY_TOKEN", "password")),
    Kind(DEVTOOLS, "gitlab.trigger-token", gitlab("glptt-", 40, HEX), ("TRIGGER_TOKEN", "token")),
    Kind(DEVTOOLS, "gitlab.runner-registration", gitlab("GR1348941"), ("REGISTRATION_TOKEN",)),
    Kind(DEVTOOLS, "npm.token", npm_token, ("NPM_TOKEN", "_authToken", "NODE_AUTH_TOKEN"), 2),
    Kind(DEVTOOLS, "pypi.token", pypi_token, ("PYPI_TOKEN", "TWINE_PASSWORD", "password"), 2),
    Kind(DEVTOOLS, "docker.pat", docker_pat, ("DOCKERHUB_TOKEN", "DOCKER_PASSWORD", "password")),
    Kind(DEVTOOLS, "atlassian.api-token", atlassian_token, ("JIRA_API_TOKEN", "ATLASSIAN_TOKEN", "api_token")),
    Kind(DEVTOOLS, "bitbucket.app-password", bitbucket_app_password, ("BITBUCKET_APP_PASSWORD", "password")),
    Kind(DEVTOOLS, "circleci.pat", circleci_pat, ("CIRCLECI_TOKEN", "CIRCLE_TOKEN")),
    Kind(DEVTOOLS, "sentry.org-token", sentry_org_token, ("SENTRY_AUTH_TOKEN", "authToken")),
    Kind(DEVTOOLS, "sentry.user-token", sentry_user_token, ("SENTRY_AUTH_TOKEN", "sentry_token")),
    Kind(DEVTOOLS, "grafana.service-account", grafana_sa, ("GRAFANA_TOKEN", "GF_API_KEY", "token")),
    Kind(DEVTOOLS, "grafana.cloud-token", grafana_cloud, ("GRAFANA_CLOUD_TOKEN", "password")),
    Kind(DEVTOOLS, "newrelic.user-key", newrelic_user_key, ("NEW_RELIC_API_KEY", "NEWRELIC_USER_KEY")),
    Kind(DEVTOOLS, "datadog.api-key", datadog_api_key, ("DD_API_KEY", "DATADOG_API_KEY", "datadog_api_key")),
    Kind(DEVTOOLS, "datadog.app-key", datadog_app_key, ("DD_APP_KEY", "DATADOG_APP_KEY")),
    Kind(DEVTOOLS, "dynatrace.token", dynatrace_token, ("DT_API_TOKEN", "DYNATRACE_TOKEN", "apiToken")),
    Kind(DEVTOOLS, "postman.api-key", postman_key, ("POSTMAN_API_KEY", "x-api-key")),
    Kind(DEVTOOLS, "linear.api-key", linear_key, ("LINEAR_API_KEY", "apiKey")),
    Kind(DEVTOOLS, "figma.pat", figma_pat, ("FIGMA_TOKEN", "X-Figma-Token")),
    Kind(DEVTOOLS, "rubygems.api-key", rubygems_key, ("GEM_HOST_API_KEY", ":rubygems_api_key")),
    Kind(DEVTOOLS, "jfrog.api-key", jfrog_api_key, ("ARTIFACTORY_API_KEY", "JFROG_TOKEN", "password")),
    Kind(DEVTOOLS, "sonar.token", sonar_token, ("SONAR_TOKEN", "sonar.login")),
    Kind(DEVTOOLS, "buildkite.token", buildkite_token, ("BUILDKITE_API_TOKEN",)),
    Kind(DEVTOOLS, "asana.pat", asana_pat, ("ASANA_ACCESS_TOKEN", "ASANA_PAT")),
    Kind(DEVTOOLS, "contentful.pat", contentful_pat, ("CONTENTFUL_MANAGEMENT_TOKEN",)),
    Kind(DEVTOOLS, "prefect.api-key", prefect_key, ("PREFECT_API_KEY",)),
    Kind(DEVTOOLS, "clojars.token", clojars_token, ("CLOJARS_PASSWORD", "CLOJARS_TOKEN")),
    Kind(DEVTOOLS, "readme.api-key", readme_key, ("README_API_KEY", "RDME_KEY")),
    Kind(DEVTOOLS, "mapbox.secret-token", mapbox_secret, ("MAPBOX_SECRET_TOKEN", "MAPBOX_DOWNLOADS_TOKEN")),
    Kind(SAAS, "slack.bot-token", slack_bot, ("SLACK_BOT_TOKEN", "slack_token", "token"), 2),
    Kind(SAAS, "slack.user-token", slack_user, ("SLACK_USER_TOKEN", "token")),
    Kind(SAAS, "slack.app-token", slack_app, ("SLACK_APP_TOKEN", "app_token")),
    Kind(SAAS, "slack.incoming-webhook", slack_webhook, ("SLACK_WEBHOOK_URL", "webhook_url", "url"), 2),
    Kind(SAAS, "discord.bot-token", discord_bot, ("DISCORD_TOKEN", "DISCORD_BOT_TOKEN", "token")),
    Kind(SAAS, "discord.webhook", discord_webhook, ("DISCORD_WEBHOOK", "webhook_url")),
    Kind(SAAS, "telegram.bot-token", telegram_bot, ("TELEGRAM_BOT_TOKEN", "BOT_TOKEN", "token")),
    Kind(SAAS, "twilio.auth-token", twilio_auth_token, ("TWILIO_AUTH_TOKEN", "twilio_auth_token")),
    Kind(SAAS, "sendgrid.api-key", sendgrid_key, ("SENDGRID_API_KEY", "apiKey", "EMAIL_HOST_PASSWORD"), 2),
    Kind(SAAS, "mailgun.api-key", mailgun_key, ("MAILGUN_API_KEY", "mailgun_api_key")),
    Kind(SAAS, "mailchimp.api-key", mailchimp_key, ("MAILCHIMP_API_KEY", "apikey")),
    Kind(SAAS, "mandrill.api-key", mandrill_key, ("MANDRILL_API_KEY", "MANDRILL_KEY")),
    Kind(SAAS, "postmark.server-token", postmark_token, ("POSTMARK_SERVER_TOKEN", "POSTMARK_API_TOKEN")),
    Kind(SAAS, "stripe.secret-key", stripe_secret, ("STRIPE_SECRET_KEY", "stripe.api_key", "secretKey"), 3),
    Kind(SAAS, "stripe.webhook-secret", stripe_webhook_secret, ("STRIPE_WEBHOOK_SECRET", "endpoint_secret")),
    Kind(SAAS, "square.token", square_token, ("SQUARE_ACCESS_TOKEN", "SQUARE_APPLICATION_SECRET")),
    Kind(SAAS, "braintree.access-token", braintree_token, ("BRAINTREE_ACCESS_TOKEN", "accessToken")),
    Kind(SAAS, "paystack.secret-key", paystack_key, ("PAYSTACK_SECRET_KEY",)),
    Kind(SAAS, "shopify.token", shopify_token, ("SHOPIFY_ACCESS_TOKEN", "SHOPIFY_API_SECRET", "password")),
    Kind(SAAS, "flutterwave.secret-key", flutterwave_key, ("FLW_SECRET_KEY", "FLUTTERWAVE_SECRET")),
    Kind(SAAS, "brevo.api-key", brevo_key, ("BREVO_API_KEY", "SENDINBLUE_API_KEY")),
    Kind(SAAS, "msteams.webhook", teams_webhook, ("TEAMS_WEBHOOK_URL", "webhook")),
    Kind(SAAS, "openai.api-key", openai_key, ("OPENAI_API_KEY", "openai.api_key", "apiKey"), 3),
    Kind(SAAS, "anthropic.api-key", anthropic_key, ("ANTHROPIC_API_KEY", "api_key"), 2),
    Kind(SAAS, "huggingface.token", huggingface_token, ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "token"), 2),
    Kind(SAAS, "groq.api-key", groq_key, ("GROQ_API_KEY",)),
    Kind(SAAS, "replicate.token", replicate_token, ("REPLICATE_API_TOKEN",)),
    Kind(SAAS, "perplexity.api-key", perplexity_key, ("PERPLEXITY_API_KEY", "PPLX_API_KEY")),
    Kind(SAAS, "xai.api-key", xai_key, ("XAI_API_KEY",)),
    Kind(SAAS, "langsmith.api-key", langsmith_key, ("LANGCHAIN_API_KEY", "LANGSMITH_API_KEY")),
    Kind(SAAS, "cohere.api-key", cohere_key, ("COHERE_API_KEY", "CO_API_KEY")),
    Kind(SAAS, "mistral.api-key", mistral_key, ("MISTRAL_API_KEY",)),
    Kind(SAAS, "airtable.pat", airtable_pat, ("AIRTABLE_API_KEY", "AIRTABLE_TOKEN")),
    Kind(SAAS, "notion.token", notion_token, ("NOTION_TOKEN", "NOTION_API_KEY")),
    Kind(
        GENERIC,
        "generic.password",
        generic_password,
        (
            "password",
            "DB_PASSWORD",
            "POSTGRES_PASSWORD",
            "MYSQL_ROOT_PASSWORD",
            "admin_password",
            "passwd",
            "smtp_password",
            "REDIS_PASSWORD",
            "spring.datasource.password",
            "ldap_bind_password",
        ),
        10,
    ),
    Kind(
        GENERIC,
        "generic.api-key",
        generic_api_key,
        (
            "api_key",
            "API_SECRET",
            "client_secret",
            "secret_key",
            "auth_token",
            "APP_SECRET",
            "access_token",
            "JWT_SECRET",
            "SESSION_SECRET",
            "webhook_secret",
            "private_token",
            "apiSecret",
        ),
        10,
    ),
    Kind(GENERIC, "generic.django-secret-key", django_secret, ("SECRET_KEY", "DJANGO_SECRET_KEY"), 2),
    Kind(
        URL,
        "uri.credentials",
        url_credentials,
        (
            "DATABASE_URL",
            "REDIS_URL",
            "BROKER_URL",
            "MONGO_URI",
            "url",
            "dsn",
            "SQLALCHEMY_DATABASE_URI",
            "connection_string",
            "remote",
        ),
        8,
    ),
    Kind(
        JWT,
        "jwt.token",
        jwt_token,
        ("Authorization", "access_token", "SUPABASE_SERVICE_ROLE_KEY", "id_token", "bearer", "AUTH_TOKEN"),
        8,
    ),
)
