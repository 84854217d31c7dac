"""Issue 10, item 3: generic secrets without a prefix in the idioms peers accept (Django SECRET_KEY,
Kubernetes Secrets, shadow/htpasswd hashes, .pgpass, nuget.config, typed constants), and the idioms
that already worked keep working. Every value is generated here."""

from __future__ import annotations

import base64
import random
import string
from pathlib import Path

import pytest

from tests.samples_base import Outcome, probed, scan_path
from tests.shape_samples import DJANGO, Gen, LookAlike, Shape, accepts, generic_shapes, lookalikes
from tests.tokens import HEX
from tokenward.checks.jwt import CHECKS as JWT_CHECKS
from tokenward.checks.placeholder import CHECKS as PLACEHOLDER_CHECKS
from tokenward.checks.placeholder import secret_key_reason
from tokenward.engine import Matcher
from tokenward.rules.spec import confidence_rank

DEFAULT = confidence_rank("medium")


def _scan(matcher: Matcher, root: Path, path: str, text: str) -> Outcome:
    file = root / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)
    return scan_path(matcher, root, probed(matcher))


def _hits(outcome: Outcome, secret: str) -> list[tuple[str, str]]:
    return [(f.rule_id, f.confidence) for f in outcome.of(secret)]


@pytest.mark.parametrize("shape", generic_shapes(), ids=lambda s: s.name)
def test_generic_idiom_is_found(tmp_path: Path, matcher: Matcher, shape: Shape) -> None:
    outcome = _scan(matcher, tmp_path, shape.path, shape.text)
    hits = _hits(outcome, shape.secret)
    assert any(accepts(shape.rule, r) and confidence_rank(c) >= DEFAULT for r, c in hits), f"{shape.rule}: {hits}"


def test_django_secret_keys_in_djangos_alphabet(matcher: Matcher) -> None:
    # get_random_secret_key(): 50 characters of a-z0-9!@#$%^&*(-_=+); most hold ( ) or & (rejected as code before).
    rng = random.Random(77)
    keys = ["".join(rng.choice(DJANGO) for _ in range(50)) for _ in range(200)]
    syntaxes = ["SECRET_KEY = '{}'", 'SECRET_KEY = "{}"', "SECRET_KEY='{}'", "app.config['SECRET_KEY'] = '{}'"]
    found = 0
    for i, key in enumerate(keys):
        line = syntaxes[i % len(syntaxes)].format(key)
        found += any(m.secret.decode() == key and confidence_rank(m.rule.spec.confidence) >= DEFAULT
                     for m in matcher.scan(line.encode()))
    assert found >= 196, f"{found}/200 Django keys found"


def test_secret_key_values_that_are_not_keys() -> None:
    g = Gen(5)
    rng = random.Random(3)
    assert secret_key_reason("".join(rng.choice(DJANGO) for _ in range(50)).encode()) is None
    for value, reason in [
        (b"get_random_secret_key()", "short"),
        (b"secrets.token_urlsafe_from_the_settings_module(64)", "call"),
        (b"os.environ.get('DJANGO_SECRET_KEY_FOR_PRODUCTION')", "variable reference"),
        (b"${DJANGO_SECRET_KEY_FROM_THE_ENVIRONMENT_OF_PROD}", "variable reference"),
        (b"django-insecure-change-me-please-and-do-not-ship", "placeholder"),
        (b"settings.PRODUCTION_SECRET_KEY_FROM_THE_VAULT_SERVICE", "identifier"),
        (("Zx9Kp2" * 7).encode(), "repeated"),
    ]:
        assert secret_key_reason(value) == reason, value
    assert secret_key_reason(("$_@" + g.chars(string.ascii_letters + string.digits + "#&(", 47)).encode()) is None


def test_generic_lookalikes_are_not_reported(tmp_path: Path, matcher: Matcher) -> None:
    generic = [n for n in lookalikes() if n.rule.startswith(("generic.", "kubernetes.", "nuget.", "npm.", "*"))]
    assert len(generic) >= 15
    for i, near in enumerate(generic):
        outcome = _scan(matcher, tmp_path / str(i), near.path, near.text)
        wrong = [(f.rule_id, f.confidence) for f in outcome.findings
                 if accepts(near.rule, f.rule_id) and confidence_rank(f.confidence) >= DEFAULT]
        assert not wrong, f"{near.name}: {wrong}"


def test_k8s_secret_data_is_decoded_with_key_path_and_line(tmp_path: Path, matcher: Matcher) -> None:
    g = Gen(9)
    password, token = g.password(24), g.chars(string.ascii_letters + string.digits, 36)
    db_config = f"db:\n  host: db.corp.invalid\n  password: {g.password(22)}\n"
    legacy = f"xoxs-{g.chars(string.digits, 12)}-{g.chars(string.digits, 12)}-{g.chars(HEX, 64)}"
    workspace = f"workspace:\n  name: ops\n  session: {legacy}\n"
    text = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: payments\ntype: Opaque\ndata:\n"
            f"  username: {base64.b64encode(b'payments').decode()}\n"
            f"  DB_PASSWORD: {base64.b64encode(password.encode()).decode()}\n"
            f"  config.yaml: {base64.b64encode(db_config.encode()).decode()}\n"
            f"  api_token: {base64.b64encode(token.encode()).decode()}\n"
            f"  workspace.yaml: {base64.b64encode(workspace.encode()).decode()}\n")
    outcome = _scan(matcher, tmp_path, "payments-secret.yaml", text)
    found = outcome.of(password)
    assert len(found) == 1 and found[0].location.line == 8
    assert dict(found[0].origin.details) == {"format": "k8s-secret", "key_path": "Secret/payments.data"}
    assert len(outcome.of(token)) == 1 and outcome.of(token)[0].location.line == 10
    # A value holding a token keyword is decoded by the decoding pass alone: reported once.
    assert len(outcome.of(db_config.split("password: ")[1].strip())) == 1
    nested = outcome.of(legacy)
    assert len(nested) == 1 and nested[0].rule_id == "slack.legacy-token"
    assert dict(nested[0].origin.details)["key_path"] == "Secret/payments.data.workspace.yaml"
    assert not [f for f in outcome.findings if f.secret == "payments"]


def test_k8s_secret_list_in_json_and_helm_templates(tmp_path: Path, matcher: Matcher) -> None:
    g = Gen(11)
    password = g.password(22)
    doc = ('{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Secret", '
           '"metadata": {"name": "smtp"}, "data": {"smtp_password": "'
           + base64.b64encode(password.encode()).decode() + '"}}]}\n')
    assert _scan(matcher, tmp_path / "a", "secrets.json", doc).of(password)
    template = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}\nstringData:\n" \
               f"  password: {password}\n"
    assert _scan(matcher, tmp_path / "b", "templates/secret.yaml", template).of(password)


def test_bootstrap_token_secret_is_reported_whole(tmp_path: Path, matcher: Matcher) -> None:
    g = Gen(13)
    tid, tsec = g.chars(string.ascii_lowercase + string.digits, 6), g.chars(string.ascii_lowercase + string.digits, 16)
    text = (f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: bootstrap-token-{tid}\n  namespace: kube-system\n"
            "type: bootstrap.kubernetes.io/token\ndata:\n"
            f"  token-id: {base64.b64encode(tid.encode()).decode()}\n"
            f"  token-secret: {base64.b64encode(tsec.encode()).decode()}\n")
    outcome = _scan(matcher, tmp_path, "bootstrap.yaml", text)
    whole = [f for f in outcome.findings if f.secret == f"{tid}.{tsec}"]
    assert whole and whole[0].rule_id.startswith("kubernetes.") and whole[0].location.line == 9


def test_jwt_claims_and_b64_password_checks() -> None:
    claims = JWT_CHECKS["jwt_claims"]({"iss": "supabase", "role": ["service_role", "admin"]})

    def jwt(payload: bytes) -> bytes:
        def seg(raw: bytes) -> bytes:
            return base64.urlsafe_b64encode(raw).rstrip(b"=")
        return seg(b'{"alg":"HS256"}') + b"." + seg(payload) + b"." + b"s" * 43
    assert claims(jwt(b'{"iss":"supabase","role":"admin"}'), b"")
    assert not claims(jwt(b'{"iss":"supabase","role":"anon"}'), b"")
    assert not claims(b"not.a.jwt", b"")
    b64_password = PLACEHOLDER_CHECKS["b64_password"](None)
    assert b64_password(base64.b64encode(Gen(3).password(18).encode()), b"")
    assert not b64_password(base64.b64encode(b"changeme"), b"")
    assert not b64_password(b"%%%notbase64", b"")


def test_lookalike_names_are_unique() -> None:
    names = [n.name for n in lookalikes()] + [s.name for s in generic_shapes()]
    assert len(names) == len(set(names))
    assert all(isinstance(n, LookAlike) for n in lookalikes())
