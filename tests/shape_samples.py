"""Shapes the peer scanners accept for providers tokenward covers, and generic secrets without a prefix
(issue 10, items 2-4): each sample is a small file, built at test time from generated values.

A `Shape` names the file it is written to (the name matters: expanders pick formats by name), its text,
the planted secret and the rule expected to report it at default confidence. `LOOKALIKES` are files
that must not produce a finding of the named rule (near misses of each new shape).
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass

from tests.tokens import ALNUM, HEX, UPPER_DIGITS, URLSAFE

LOWER_DIGITS = string.ascii_lowercase + string.digits
DJANGO = string.ascii_lowercase + string.digits + "!@#$%^&*(-_=+)"


@dataclass(frozen=True)
class Shape:
    """One sample file: where it is written, what it holds, which secret and rule must be reported.

    `rule` is a rule id, a provider prefix ending in '.' (any rule of that provider), or several of
    these separated by '|' (where another rule file covers the same shape, the more specific wins).
    """

    name: str
    path: str
    text: str
    secret: str
    rule: str


@dataclass(frozen=True)
class LookAlike:
    """A near miss: a file that must yield no finding of `rule` (same syntax as Shape.rule; '*': any rule)."""

    name: str
    path: str
    text: str
    rule: str


class Gen:
    """Seeded random values in the alphabets the formats use (every class present when asked)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def chars(self, alphabet: str, n: int, mixed: bool = True) -> str:
        """n characters of alphabet; with mixed, lower, upper and digit each appear when the alphabet has them."""
        need = [set(c) & set(alphabet) for c in (string.ascii_lowercase, string.ascii_uppercase, string.digits)]
        while True:
            value = "".join(self.rng.choice(alphabet) for _ in range(n))
            if not mixed or all(not cls or cls & set(value) for cls in need):
                return value

    def b64(self, raw_len: int) -> str:
        """Standard base64 of raw_len random bytes."""
        return base64.b64encode(bytes(self.rng.randrange(256) for _ in range(raw_len))).decode()

    def password(self, n: int = 20) -> str:
        """A generated password: letters, digits and a few symbols."""
        return self.chars(ALNUM, n - 3) + self.rng.choice("!#%") + self.chars(string.digits, 1) + "~"


def _jwt(claims: dict[str, object], gen: Gen) -> str:
    def seg(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{seg({'alg': 'HS256', 'typ': 'JWT'})}.{seg(claims)}.{gen.chars(URLSAFE, 43)}"


def provider_shapes(seed: int = 1010) -> list[Shape]:
    """Item 2: shapes of providers tokenward has rules for."""
    g = Gen(seed)
    c = g.chars
    out: list[Shape] = []

    def add(name: str, path: str, text: str, secret: str, rule: str) -> None:
        out.append(Shape(name, path, text, secret, rule))

    # AWS secret access key.
    key_id = "AKIA" + c(string.ascii_uppercase + "234567", 16)
    aws = c(ALNUM + "+/", 40)
    add("aws-terraform-variable", "variables.tf",
        f'variable "aws_secret_access_key" {{\n  type        = string\n  description = "deploy user"\n'
        f'  default     = "{aws}"\n}}\n', aws, "aws.")
    aws = c(ALNUM + "+/", 40)
    add("aws-yaml-nesting", "values.yaml", f"aws:\n  accessKeyId: {key_id}\n  secretKey: {aws}\n", aws,
        "aws.")
    aws = c(ALNUM + "+/", 40)
    add("aws-k8s-name-value", "deploy.yaml",
        f"        env:\n        - name: AWS_SECRET_ACCESS_KEY\n          value: \"{aws}\"\n", aws, "aws.")
    aws = c(ALNUM + "+/", 40)
    add("aws-credentials-csv", "credentials.csv",
        "User name,Password,Access key ID,Secret access key,Console login link\n"
        f"ci-deploy,,{key_id},{aws},https://123456789012.signin.aws.amazon.com/console\n", aws,
        "aws.")
    aws = c(ALNUM + "+/", 40)
    add("aws-access-keys-csv", "ci-deploy_accessKeys.csv",
        f"Access key ID,Secret access key\n{key_id},{aws}\n", aws, "aws.")
    aws = c(ALNUM + "+/", 40)
    add("aws-escaped-json", "payload.js",
        f'const body = "{{\\"awsAccessKeyId\\":\\"{key_id}\\",\\"awsSecretKey\\":\\"{aws}\\"}}";\n', aws,
        "aws.")

    # GCP service-account JSON, keys in another order than the console writes them.
    kid = c(HEX, 40)
    pem_body = "\\n".join(g.b64(48) for _ in range(6))
    sa = (f'{{\n  "client_email": "ci@proj-{c(LOWER_DIGITS, 6)}.iam.gserviceaccount.com",\n'
          f'  "private_key": "-----BEGIN PRIVATE KEY-----\\n{pem_body}\\n-----END PRIVATE KEY-----\\n",\n'
          f'  "type": "service_account",\n  "project_id": "proj",\n  "private_key_id": "{kid}",\n'
          f'  "client_id": "{c(string.digits, 21)}"\n}}\n')
    add("gcp-service-account-any-order", "sa.json", sa, kid, "google.")

    # Slack.
    url = f"http://hooks.slack.com/services/T{c(UPPER_DIGITS, 10)}/B{c(UPPER_DIGITS, 10)}/{c(ALNUM, 24)}"
    add("slack-webhook-http", "notify.sh", f"curl -X POST -d @msg.json {url}\n", url, "slack.incoming-webhook")
    for prefix in ("xoxs", "xoxo", "xoxr"):
        tok = f"{prefix}-{c(string.digits, 12)}-{c(string.digits, 12)}-{c(string.digits, 13)}-{c(HEX, 64)}"
        add(f"slack-{prefix}", "slack.env", f"SLACK_TOKEN={tok}\n", tok, "slack.legacy-token")

    # Vault legacy tokens after `token:`.
    for prefix, n in (("s", 24), ("r", 24)):
        tok = f"{prefix}.{c(ALNUM, n)}"
        add(f"vault-legacy-{prefix}", "vault.hcl", f'token: "{tok}"\n', tok, "vault.service-token-legacy")
    tok = "b.AAAAAQ" + c(URLSAFE, 120)
    add("vault-legacy-b", "agent.yaml", f"token: {tok}\n", tok, "vault.service-token-legacy")

    # 1Password Secret Key, 6-11 grouping.
    sk = f"A3-{c(UPPER_DIGITS, 6)}-{c(UPPER_DIGITS, 11)}-{c(UPPER_DIGITS, 5)}-{c(UPPER_DIGITS, 5)}-{c(UPPER_DIGITS, 5)}"
    add("1password-secret-key-6-11", "op.env", f"OP_SECRET_KEY={sk}\n", sk, "onepassword.secret-key")

    # Azure AD client secret with other digits before Q~.
    for digit in "0359":
        sec = f"{c(ALNUM, 3)}{digit}Q~{c(ALNUM + '_~.-', 34)}"
        add(f"azure-client-secret-{digit}q", "appsettings.env", f"AZURE_CLIENT_SECRET={sec}\n", sec,
            "azure.entra-client-secret")

    # Datadog.
    dd = c(HEX, 32)
    add("datadog-agent-yaml", "datadog.yaml",
        "## @param api_key - string - required\n## The Datadog API key used by your Agent to submit metrics.\n#\n"
        f"api_key: {dd}\n\nsite: datadoghq.eu\n", dd, "datadog.api-key|datadog.api-key-agent-config")
    dd = c(HEX, 32)
    add("datadog-helm-values", "values.yaml", f"datadog:\n  apiKey: {dd}\n  site: datadoghq.com\n", dd,
        "datadog.api-key")
    dd = c(HEX, 32)
    add("datadog-k8s-env", "agent.yaml", f"        - name: DD_API_KEY\n          value: \"{dd}\"\n", dd,
        "datadog.api-key")
    dd = c(HEX, 32)
    add("datadog-terraform-variable", "main.tf",
        f'variable "datadog_api_key" {{\n  type      = string\n  sensitive = true\n  default   = "{dd}"\n}}\n',
        dd, "datadog.api-key")

    # New Relic.
    nr = f"eu01xx{c(HEX, 30)}NRAL"
    add("newrelic-eu-license", "newrelic.env", f"NEW_RELIC_LICENSE_KEY={nr}\n", nr, "newrelic.license-key")
    nr = c(HEX, 40)
    add("newrelic-yml-license-key", "newrelic.yml",
        "# New Relic agent configuration\ncommon: &default_settings\n"
        f"  license_key: '{nr}'\n  app_name: shop\n", nr, "newrelic.license-key-legacy")
    nr = f"eu01xx{c(HEX, 34)}"
    add("newrelic-eu-legacy", "newrelic.ini", f"[newrelic]\nlicense_key = {nr}\n", nr, "newrelic.license-key-legacy")

    # Anthropic OAuth token.
    tok = f"sk-ant-oat01-{c(URLSAFE, 93)}AA"
    add("anthropic-oat01", "claude.env", f"CLAUDE_CODE_OAUTH_TOKEN={tok}\n", tok, "anthropic.oauth-token")

    # Supabase service_role JWT.
    jwt = _jwt({"iss": "supabase", "ref": c(string.ascii_lowercase, 20), "role": "service_role",
                "iat": 1700000000, "exp": 2015576000}, g)
    add("supabase-service-role", ".env.local", f"SUPABASE_SERVICE_ROLE_KEY={jwt}\n", jwt,
        "supabase.service-role-key")

    # Cloudflare X-Auth-Key header.
    cf = c(HEX, 37)
    add("cloudflare-x-auth-key", "purge.sh",
        f'curl -X POST https://api.cloudflare.com/client/v4/zones/z/purge_cache -H "X-Auth-Email: ops@corp.invalid"'
        f' -H "X-Auth-Key: {cf}"\n', cf, "cloudflare.global-api-key-legacy")

    # GitHub OAuth / App client secret next to its client id.
    gh = c(HEX, 40)
    add("github-client-secret-iv1", "auth.yaml",
        f"github:\n  client_id: Iv1.{c(HEX, 16)}\n  client_secret: {gh}\n", gh, "github.oauth-client-secret")
    gh = c(HEX, 40)
    add("github-client-secret-env", "app.env", f"GITHUB_CLIENT_SECRET={gh}\n", gh, "github.oauth-client-secret")
    gh = c(HEX, 40)
    add("github-client-secret-ov23", "oauth.py",
        f'CLIENT_ID = "Ov23li{c(ALNUM, 14)}"\nCLIENT_SECRET = "{gh}"\n', gh, "github.oauth-client-secret")

    # Bitbucket OAuth consumer secret.
    bb = c(ALNUM, 32)
    add("bitbucket-oauth-secret", "bb.env",
        f"BITBUCKET_CLIENT_ID={c(ALNUM, 18)}\nBITBUCKET_CLIENT_SECRET={bb}\n", bb, "bitbucket.oauth-secret")

    # Salesforce refresh token.
    sf = f"5Aep861{c(ALNUM + '._', 80)}"
    add("salesforce-refresh-token", "sfdx.json", f'{{"refreshToken": "{sf}"}}\n', sf, "salesforce.refresh-token")

    # Azure App Configuration connection string.
    sec = g.b64(32)
    add("azure-app-configuration", "appsettings.json",
        f'{{"AppConfig": "Endpoint=https://shop-cfg.azconfig.io;Id={c(ALNUM, 4)}-l0-s0:{c(ALNUM, 20)};'
        f'Secret={sec}"}}\n', sec, "azure.app-configuration-connection-string")
    return out


def generic_shapes(seed: int = 2020) -> list[Shape]:
    """Item 3: generic secrets without a prefix, in the idioms peers accept."""
    g = Gen(seed)
    c = g.chars
    out: list[Shape] = []

    def add(name: str, path: str, text: str, secret: str, rule: str) -> None:
        out.append(Shape(name, path, text, secret, rule))

    for i in range(4):
        key = c(DJANGO, 50, mixed=False)
        while not set("()&") & set(key) and i % 2 == 0:
            key = c(DJANGO, 50, mixed=False)
        add(f"django-secret-key-{i}", "settings.py", f"SECRET_KEY = '{key}'\n", key,
            "generic.django-secret-key|generic.secret")
    key = "django-insecure-" + c(DJANGO, 50, mixed=False)
    add("django-insecure", "settings.py", f"# SECURITY WARNING\nSECRET_KEY = \"{key}\"\n", key,
        "django.insecure-secret-key|generic.django-secret-key")

    pw = g.password(24)
    add("k8s-secret-data", "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n"
        f"  username: {base64.b64encode(b'app').decode()}\n"
        f"  DB_PASSWORD: {base64.b64encode(pw.encode()).decode()}\n", pw, "generic.password")
    tok = c(ALNUM, 32)
    add("k8s-secret-data-any-key", "manifests.yaml",
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  LOG_LEVEL: info\n---\n"
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: api\ndata:\n"
        f"  api-token: {base64.b64encode(tok.encode()).decode()}\n", tok, "generic.token")
    pw = g.password(22)
    add("k8s-secret-string-data", "secret.yml",
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: smtp\nstringData:\n  smtp-password: \"{pw}\"\n", pw,
        "generic.password")
    tid, tsec = c(LOWER_DIGITS, 6), c(LOWER_DIGITS, 16)
    add("k8s-bootstrap-token-secret", "bootstrap.yaml",
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: bootstrap-token-{tid}\n  namespace: kube-system\n"
        f"type: bootstrap.kubernetes.io/token\nstringData:\n  token-id: {tid}\n  token-secret: {tsec}\n",
        tsec, "kubernetes.|generic.secret")
    tid, tsec = c(LOWER_DIGITS, 6), c(LOWER_DIGITS, 16)
    add("kubeadm-join", "join.sh",
        f"kubeadm join 10.0.0.10:6443 --token {tid}.{tsec} --discovery-token-ca-cert-hash sha256:{c(HEX, 64)}\n",
        f"{tid}.{tsec}", "kubernetes.")

    salt = c(ALNUM + "./", 16)
    sha512 = f"$6${salt}${c(ALNUM + './', 86)}"
    add("shadow-sha512", "shadow", f"root:{sha512}:19700:0:99999:7:::\n", sha512, "passwordhash.|generic.password-hash")
    bcrypt = f"$2y$10${c(ALNUM + './', 53)}"
    add("htpasswd-bcrypt", ".htpasswd", f"admin:{bcrypt}\n", bcrypt, "passwordhash.|generic.password-hash")
    apr1 = f"$apr1${c(ALNUM + './', 8)}${c(ALNUM + './', 22)}"
    add("htpasswd-apr1", "htpasswd", f"deploy:{apr1}\n", apr1, "generic.password-hash")
    md5 = f"$1${c(ALNUM + './', 8)}${c(ALNUM + './', 22)}"
    add("shadow-md5", "shadow.bak", f"backup:{md5}:18000:0:99999:7:::\n", md5, "generic.password-hash")
    sha256 = f"$5${c(ALNUM + './', 16)}${c(ALNUM + './', 43)}"
    add("shadow-sha256", "shadow-", f"svc:{sha256}:19000::::::\n", sha256, "passwordhash.|generic.password-hash")
    yes = f"$y$j9T${c(ALNUM + './', 22)}${c(ALNUM + './', 43)}"
    add("shadow-yescrypt", "shadow", f"ops:{yes}:19800:0:99999:7:::\n", yes, "generic.password-hash")

    pw = g.password(20)
    add("pgpass", ".pgpass", f"# host:port:db:user:password\ndb.corp.invalid:5432:shop:app_rw:{pw}\n", pw,
        "generic.pgpass")
    pw = g.password(18)
    add("pgpass-wildcards", "pgpass.conf", f"*:*:*:replicator:{pw}\n", pw, "generic.pgpass")

    pw = g.password(24)
    add("nuget-cleartext-password", "nuget.config",
        "<configuration>\n  <packageSourceCredentials>\n    <corp>\n"
        '      <add key="Username" value="ci" />\n'
        f'      <add key="ClearTextPassword" value="{pw}" />\n    </corp>\n  </packageSourceCredentials>\n'
        "</configuration>\n", pw, "nuget.cleartext-password")

    tok = c(ALNUM, 32)
    add("rust-const", "config.rs", f'pub const API_TOKEN: &str = "{tok}";\n', tok, "generic.token")
    tok = c(ALNUM, 32)
    add("rust-static", "keys.rs", f"static API_KEY: &'static str = \"{tok}\";\n", tok, "generic.api-key")
    tok = c(ALNUM, 32)
    add("swift-let", "Secrets.swift", f'let apiKey: String = "{tok}"\n', tok, "generic.api-key")
    tok = c(ALNUM, 32)
    add("kotlin-const", "Keys.kt", f'const val CLIENT_SECRET: String = "{tok}"\n', tok, "generic.secret")
    pw = g.password(20)
    add("kotlin-private-val", "Db.kt", f'private val dbPassword: String = "{pw}"\n', pw, "generic.password")

    # What already worked stays working.
    pw = g.password(20)
    add("curl-user", "call.sh", f"curl -u svc-export:{pw} https://api.corp.invalid/export\n", pw, "generic.curl-user")
    pw = g.password(20)
    add("jdbc", "app.properties", f"url=jdbc:postgresql://db.corp.invalid:5432/app?user=app&password={pw}\n", pw,
        "uri.jdbc-password")
    pw = g.password(20)
    add("netrc", ".netrc", f"machine git.corp.invalid login ci password {pw}\n", pw, "generic.netrc")
    pw = g.password(20)
    add("properties", "application.properties", f"spring.datasource.password={pw}\n", pw, "generic.password")
    pw = g.password(20)
    add("xml", "settings.xml", f"<server><id>corp</id><password>{pw}</password></server>\n", pw,
        "generic.xml-element")
    return out


def config_shapes(seed: int = 3030) -> list[Shape]:
    """Item 4: structured configs keep the rule's own result (no demotion to a generic low finding)."""
    g = Gen(seed)
    out: list[Shape] = []
    auth = base64.b64encode(f"ci-bot:{g.password(24)}".encode()).decode()
    doc = json.dumps({"auths": {"registry.corp.invalid": {"auth": auth}}, "credsStore": ""}, indent=2)
    out.append(Shape("docker-config-auth", ".docker/config.json", doc + "\n", auth, "generic.registry-auth"))
    doc = json.dumps({"auths": {"ghcr.invalid": {"auth": auth}}})
    out.append(Shape("docker-config-auth-one-line", "config.json", doc + "\n", auth, "generic.registry-auth"))
    auth = base64.b64encode(f"deploy:{g.password(22)}".encode()).decode()
    out.append(Shape("npmrc-auth", ".npmrc",
                     f"registry=https://npm.corp.invalid/\n_auth={auth}\nalways-auth=true\n", auth, "npm.basic-auth"))
    auth = base64.b64encode(f"deploy:{g.password(22)}".encode()).decode()
    out.append(Shape("npmrc-scoped-auth", ".npmrc", f"//npm.corp.invalid/:_auth={auth}\n", auth, "npm.basic-auth"))
    pw = base64.b64encode(g.password(22).encode()).decode()
    out.append(Shape("npmrc-password", ".npmrc",
                     f"//npm.corp.invalid/:username=ci\n//npm.corp.invalid/:_password={pw}\n", pw, "npm.password"))
    return out


def lookalikes(seed: int = 4040) -> list[LookAlike]:
    """Near misses of every new shape: must not produce a finding of the named rule."""
    g = Gen(seed)
    c = g.chars
    out: list[LookAlike] = []

    def add(name: str, path: str, text: str, rule: str) -> None:
        out.append(LookAlike(name, path, text, rule))

    add("aws-csv-no-key-id", "report.csv", f"name,hash\nbuild,{c(ALNUM + '+/', 40)}\n", "aws.")
    add("aws-tf-variable-reference", "variables.tf",
        'variable "aws_secret_access_key" {\n  type = string\n  default = var.secret\n}\n', "aws.")
    add("aws-k8s-secret-ref", "deploy.yaml",
        "- name: AWS_SECRET_ACCESS_KEY\n  valueFrom:\n    secretKeyRef:\n      name: aws\n      key: secret\n"
        f"- name: BUILD_SHA\n  value: {c(HEX, 40)}\n", "aws.")
    add("slack-xoxs-short", "slack.env", "SLACK_TOKEN=xoxs-1234-abcd\n", "slack.legacy-token")
    add("slack-xoxo-placeholder", "slack.env", "SLACK_TOKEN=xoxo-xxxxxxxxxxxx-xxxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx\n",
        "slack.legacy-token")
    add("vault-token-path", "vault.hcl", 'token: "s.token_file_path"\n', "vault.service-token-legacy")
    add("vault-token-lowercase", "cfg.yaml", f"token: s.{c(string.ascii_lowercase, 24)}\n",
        "vault.service-token-legacy")
    add("azure-q-without-digit", "app.env", f"AZURE_CLIENT_SECRET={c(ALNUM, 3)}xQ~{c(ALNUM, 34)}\n",
        "azure.entra-client-secret")
    add("datadog-yaml-hash", "datadog.yaml", f"# Datadog agent\ncheck_hash: {c(HEX, 32)}\nsite: datadoghq.com\n",
        "datadog.api-key")
    add("datadog-app-key-length", "values.yaml", f"datadog:\n  apiKey: {c(HEX, 40)}\n", "datadog.api-key")
    add("newrelic-yml-app-id", "newrelic.yml", f"# New Relic\ncommon:\n  app_id: {c(HEX, 40)}\n",
        "newrelic.license-key-legacy")
    add("anthropic-oat-short", "claude.env", f"CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-{c(URLSAFE, 20)}\n",
        "anthropic.oauth-token")
    add("supabase-anon-jwt", ".env", "SUPABASE_ANON_KEY=" + _jwt(
        {"iss": "supabase", "ref": c(string.ascii_lowercase, 20), "role": "anon", "iat": 1700000000}, g) + "\n",
        "supabase.service-role-key")
    add("other-service-role-jwt", ".env", "TOKEN=" + _jwt({"iss": "https://id.corp.invalid", "role": "service_role"},
                                                          g) + "\n", "supabase.service-role-key")
    add("cloudflare-x-auth-key-var", "purge.sh", 'curl -H "X-Auth-Key: $CF_API_KEY" https://api\n',
        "cloudflare.global-api-key-legacy")
    add("github-client-id-only", "auth.yaml", f"github:\n  client_id: Iv1.{c(HEX, 16)}\n  scope: repo\n",
        "github.oauth-client-secret")
    add("github-secret-sha", "ci.yaml", f"github:\n  commit_sha: {c(HEX, 40)}\n", "github.oauth-client-secret")
    add("bitbucket-secret-short", "bb.env", f"BITBUCKET_CLIENT_SECRET={c(ALNUM, 12)}\n", "bitbucket.oauth-secret")
    add("salesforce-5aep-short", "sf.json", '{"refreshToken": "5Aep861shortvalue"}\n', "salesforce.refresh-token")
    add("azconfig-no-secret", "appsettings.json",
        '{"AppConfig": "Endpoint=https://shop-cfg.azconfig.io;Id=x;Secret=<secret>"}\n',
        "azure.app-configuration-connection-string")
    add("django-secret-key-env", "settings.py", "SECRET_KEY = os.environ['SECRET_KEY']\n", "generic.django-secret-key")
    add("django-secret-key-get", "settings.py", 'SECRET_KEY = env("SECRET_KEY", default="")\n',
        "generic.django-secret-key")
    add("django-insecure-placeholder", "settings.py", "SECRET_KEY = 'django-insecure-change-me-please'\n",
        "generic.django-secret-key")
    add("django-secret-key-short", "settings.py", "SECRET_KEY = 'dev'\n", "generic.django-secret-key")
    add("k8s-secret-placeholders", "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: changeme\n"
        "  username: admin\n", "*")
    add("k8s-secret-usernames", "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n"
        f"  username: {base64.b64encode(b'service-account').decode()}\n"
        f"  host: {base64.b64encode(b'db.corp.invalid').decode()}\n", "*")
    add("bootstrap-token-placeholder", "join.sh", "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef\n",
        "kubernetes.")
    add("version-dotted", "notes.txt", f"--token {c(string.ascii_lowercase, 6)}.{c(string.ascii_lowercase, 16)}\n",
        "kubernetes.")
    add("shadow-locked", "shadow", "daemon:*:19000:0:99999:7:::\nbin:!:19000::::::\nroot:!$6$x$y:1::::::\n",
        "generic.password-hash")
    add("passwd-line", "passwd", "root:x:0:0:root:/root:/bin/bash\n", "generic.password-hash")
    add("doc-mentions-prefix", "README.md", "Hashes start with `$2y$` or `$6$`.\n", "generic.password-hash")
    add("pgpass-time", "log.txt", "12:30:45:123:done\n", "generic.pgpass")
    add("pgpass-placeholder", ".pgpass", "hostname:port:database:username:password\n", "generic.pgpass")
    add("pgpass-variable", ".pgpass", "db:5432:app:app:${PGPASSWORD}\n", "generic.pgpass")
    add("nuget-password-ref", "nuget.config", '<add key="ClearTextPassword" value="%NUGET_PASSWORD%" />\n',
        "nuget.cleartext-password")
    add("rust-const-name", "config.rs", 'pub const API_TOKEN_HEADER: &str = "X-Api-Token";\n', "*")
    add("docker-config-creds-store", ".docker/config.json",
        json.dumps({"auths": {"registry.corp.invalid": {}}, "credsStore": "desktop"}) + "\n", "*")
    add("npmrc-auth-placeholder", ".npmrc", "_auth=${NPM_AUTH}\n", "npm.basic-auth")
    add("npmrc-auth-user-password", ".npmrc", f"_auth={base64.b64encode(b'user:password').decode()}\n",
        "npm.basic-auth")
    return out


def accepts(expected: str, rule_id: str) -> bool:
    """True when rule_id is one of the rules `expected` names (see Shape.rule)."""
    return any(e == "*" or rule_id == e or (e.endswith(".") and rule_id.startswith(e)) for e in expected.split("|"))
