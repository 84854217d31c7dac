"""Build format-valid fake tokens at test time (never stored as literals outside rule examples)."""

from __future__ import annotations

import base64
import json
import random
import string
import zlib

from tokenward.checks.checksum import base62

ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


class TokenFactory:
    """Deterministic generator of fake tokens in provider formats."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)

    def chars(self, alphabet: str, n: int) -> str:
        """n random characters drawn from alphabet, guaranteed to mix classes when it can."""
        def classes(text: str) -> set[str]:
            return {"digit" if ch.isdigit() else "upper" if ch.isupper() else "other" for ch in text}

        want = min(len(classes(alphabet)), 2)
        while True:
            value = "".join(self.rng.choice(alphabet) for _ in range(n))
            if n < 8 or len(classes(value)) >= want:
                return value

    def crc_base62(self, prefix: str, n: int = 30) -> str:
        """A GitHub/npm style token: prefix + n base62 chars + 6-char base62 CRC32 of those chars."""
        body = self.chars(ALNUM, n)
        return prefix + body + base62(zlib.crc32(body.encode())).decode()

    def github_classic(self) -> str:
        """ghp_ personal access token with a valid checksum."""
        return self.crc_base62("ghp_")

    def aws_key_id(self) -> str:
        """An AWS access key id: AKIA + 16 chars of A-Z2-7."""
        return "AKIA" + self.chars(string.ascii_uppercase + "234567", 16)

    def sentry_org_token(self) -> str:
        """A Sentry org auth token: sntrys_ + base64 JSON (iat, url, org) + _ + 43 random chars."""
        claims = {"iat": 1717171717.5, "url": "https://sentry.io", "org": self.chars(string.ascii_lowercase, 8)}
        body = base64.b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("=")
        return f"sntrys_{body}_{self.chars(ALNUM + '+/', 43)}"

    def grafana_sa_token(self) -> str:
        """A Grafana service-account token: glsa_ + 32 chars + _ + little-endian hex CRC32."""
        body = "glsa_" + self.chars(ALNUM, 32)
        return f"{body}_{zlib.crc32(body.encode()).to_bytes(4, 'little').hex()}"

    def jwt(self, claims: dict[str, object] | None = None) -> str:
        """An unsigned-looking HS256 JWT with the given claims."""
        def seg(obj: dict[str, object]) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
        payload = claims or {"sub": self.chars(ALNUM, 10), "iat": 1700000000}
        return f"{seg({'alg': 'HS256', 'typ': 'JWT'})}.{seg(payload)}.{self.chars(URLSAFE, 43)}"


def leading_zero_github_token(prefix: str = "ghp_") -> str:
    """A token whose CRC32 checksum encodes with a leading zero (padding must be handled)."""
    rng = random.Random(11)
    while True:
        body = "".join(rng.choice(ALNUM) for _ in range(30))
        crc = zlib.crc32(body.encode())
        if crc < 62 ** 5:
            return prefix + body + base62(crc).decode()


LOWER_DIGITS = string.ascii_lowercase + string.digits


def provider_tokens(seed: int = 13) -> dict[str, str]:
    """One format-valid fake token per provider format, keyed by the rule id expected to find it.

    Each value is an assignment line, so context-anchored rules see their keyword too.
    """
    f = TokenFactory(seed)
    c = f.chars
    return {
        "github.pat-classic": f"GITHUB_TOKEN={f.crc_base62('ghp_')}",
        "github.oauth-token": f"token: {f.crc_base62('gho_')}",
        "github.pat-fine-grained": f"GH_PAT=github_pat_{c(ALNUM, 22)}_{c(ALNUM, 59)}",
        "gitlab.pat": f"GITLAB_TOKEN=glpat-{c(URLSAFE.replace('-', '').replace('_', ''), 20)}",
        "slack.bot-token": f"SLACK_BOT_TOKEN=xoxb-{c(string.digits, 12)}-{c(string.digits, 13)}-{c(ALNUM, 24)}",
        "slack.incoming-webhook": "url = https://hooks.slack.com/services/T"
                         f"{c(UPPER_DIGITS, 10)}/B{c(UPPER_DIGITS, 10)}/{c(ALNUM, 24)}",
        "stripe.secret-key-live": f"STRIPE_KEY=sk_live_{c(ALNUM, 99)}",
        "stripe.secret-key-test": f"stripe_key = 'sk_test_{c(ALNUM, 99)}'",
        "stripe.restricted-key-live": f"STRIPE_RK=rk_live_{c(ALNUM, 99)}",
        "aws.access-key-id": f"aws_access_key_id = {f.aws_key_id()}",
        "google.api-key": f"GOOGLE_API_KEY=AIza{c(URLSAFE, 35)}",
        "openai.project-key": f"OPENAI_API_KEY=sk-proj-{c(URLSAFE, 74)}T3BlbkFJ{c(URLSAFE, 74)}",
        "anthropic.api-key": f"ANTHROPIC_API_KEY=sk-ant-api03-{c(URLSAFE, 93)}AA",
        "huggingface.access-token": f"HF_TOKEN=hf_{c(string.ascii_letters, 34)}",
        "npm.access-token": f"//registry.npmjs.org/:_authToken={f.crc_base62('npm_')}",
        "pypi.api-token": f"password = pypi-AgEIcHlwaS5vcmc{c(URLSAFE, 70)}",
        "docker.pat": f"DOCKER_TOKEN=dckr_pat_{c(URLSAFE, 27)}",
        "sendgrid.api-key": f"SENDGRID_API_KEY=SG.{c(URLSAFE, 22)}.{c(URLSAFE, 43)}",
        "shopify.admin-access-token": f"SHOPIFY_TOKEN=shpat_{c(HEX, 32)}",
        "digitalocean.pat": f"DO_TOKEN=dop_v1_{c(HEX, 64)}",
        "databricks.pat": f"DATABRICKS_TOKEN=dapi{c(HEX, 32)}",
        "doppler.personal-token": f"DOPPLER_TOKEN=dp.pt.{c(ALNUM, 43)}",
        "vault.service-token": f"VAULT_TOKEN=hvs.{c(URLSAFE, 90)}",
        "sentry.org-token": f"SENTRY_AUTH_TOKEN={f.sentry_org_token()}",
        "grafana.service-account-token": f"GRAFANA_TOKEN={f.grafana_sa_token()}",
        "linear.api-key": f"LINEAR_API_KEY=lin_api_{c(ALNUM, 40)}",
        "postman.api-key": f"POSTMAN_API_KEY=PMAK-{c(HEX, 24)}-{c(HEX, 34)}",
        "newrelic.user-api-key": f"NEW_RELIC_API_KEY=NRAK-{c(UPPER_DIGITS, 27)}",
        "pulumi.access-token": f"PULUMI_ACCESS_TOKEN=pul-{c(HEX, 40)}",
        "replicate.api-token": f"REPLICATE_API_TOKEN=r8_{c(ALNUM, 37)}",
        "groq.api-key": f"GROQ_API_KEY=gsk_{c(ALNUM, 52)}",
        "twilio.api-key-sid": f"TWILIO_API_KEY=SK{c(HEX, 32)}",
        "telegram.bot-token": f"TELEGRAM_BOT_TOKEN={c(string.digits, 10)}:AA{c(URLSAFE, 33)}",
        "figma.pat": f"FIGMA_TOKEN=figd_{c(URLSAFE, 40)}",
        "jwt.token": f"Authorization: Bearer {f.jwt({'sub': c(ALNUM, 8), 'exp': 1900000000})}",
        "uri.postgres": f"DATABASE_URL=postgres://app:{c(ALNUM, 20)}@db.internal:5432/app",
        "generic.password": f"db_password = \"{c(ALNUM + '!#%', 18)}\"",
    }
