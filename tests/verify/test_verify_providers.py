"""Every verifier and revoker of the registries against a fake provider replaying its documented answers:
live only on the documented success, invalid only on the documented rejection, unknown for a WAF page,
HTML, 429, 5xx, unexpected JSON, a redirect (never followed: the other host gets nothing) or a timeout."""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Iterator
from urllib.parse import unquote

import pytest

from tests.verify_fake import SCENARIOS, Fake, Seen, fake_server
from tokenward.verify.client import Limits, ProviderClient
from tokenward.verify.interface import Credential, Example, Revoker, Verifier
from tokenward.verify.registry import REVOKERS, VERIFIERS, providers
from tokenward.verify.service import verify_one

UNIQUE_VERIFIERS = list({id(v): v for v in VERIFIERS.values()}.values())
UNIQUE_REVOKERS = list({id(r): r for r in REVOKERS.values()}.values())
EXPECTED = {"live": "live", "invalid": "invalid", "waf403": "unknown", "html200": "unknown",
            "ratelimited": "unknown", "error500": "unknown", "unexpected": "unknown", "redirect": "unknown"}
PUBLIC_ID = "PUBLICID0123456789"


def secret_for(rule_id: str) -> str:
    """A random token of the shape a rule's verifier expects (built now, never a literal)."""
    rng = random.Random(rule_id)
    chars = lambda n, abc=string.ascii_letters + string.digits: "".join(rng.choice(abc) for _ in range(n))  # noqa: E731
    special = {
        "tailscale.key": f"tskey-api-k{chars(10)}-{chars(30)}",
        "slack.incoming-webhook": f"https://hooks.slack.com/services/T{chars(9)}/B{chars(9)}/{chars(24)}",
        "sendgrid.api-key": f"SG.{chars(22)}.{chars(43)}",
        "mailchimp.api-key": f"{chars(32, '0123456789abcdef')}-us6",
        "twitch.chat-oauth-token": f"oauth:{chars(30)}",
    }
    return special.get(rule_id, chars(40))


def credential(entry: Verifier | Revoker) -> Credential:
    rule_id = entry.rule_ids[0]
    return Credential(secret_for(rule_id), rule_id, (("id", PUBLIC_ID),))


def name(entry: Verifier | Revoker) -> str:
    return entry.rule_ids[0]


@pytest.fixture(scope="module")
def shared_client() -> Iterator[ProviderClient]:
    # One client for the module: creating an httpx client (its TLS context) costs more than a test.
    with ProviderClient(Limits(timeout=5, min_interval=0, retries=1, max_requests=10**6)) as c:
        yield c


@pytest.fixture
def client(shared_client: ProviderClient) -> ProviderClient:
    shared_client.endpoints = {}
    return shared_client


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Fake, Fake]]:
    """One fake provider and one canary (the "other host" a redirect points to) for the whole module."""
    with fake_server() as canary, fake_server() as fake:
        fake.redirect_to = canary.url
        yield fake, canary


def _serve(servers: tuple[Fake, Fake], routes: tuple[Example, ...], scenario: str) -> tuple[Fake, Fake]:
    fake, canary = servers
    canary.reset()
    return fake.reset(routes, "routes" if routes else scenario), canary


def presented(secret: str, seen: Seen) -> bool:
    """The token reached the provider: in the path, a header (also inside Basic auth) or the body."""
    texts = [unquote(seen.path), seen.body.decode("utf-8", "replace"), unquote(seen.body.decode("utf-8", "replace"))]
    for value in seen.headers.values():
        texts.append(value)
        if value.lower().startswith("basic "):
            texts.append(base64.b64decode(value[6:]).decode("utf-8", "replace"))
    core = secret.removeprefix("oauth:").split("hooks.slack.com", 1)[-1]
    return any(core in t for t in texts)


def test_registry_breadth() -> None:
    assert len(providers(VERIFIERS)) >= 100
    assert len(REVOKERS) >= 40


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("verifier", UNIQUE_VERIFIERS, ids=name)
def test_verifier_evidence(verifier: Verifier, scenario: str, client: ProviderClient,
                           servers: tuple[Fake, Fake]) -> None:
    cred = credential(verifier)
    examples = verifier.examples()
    fake, canary = _serve(servers, {"live": examples.live, "invalid": examples.invalid}.get(scenario, ()), scenario)
    client.endpoints = {"*": fake.url}
    verdict = verify_one(verifier, cred, client)
    expected = EXPECTED[scenario]
    if scenario == "invalid" and getattr(verifier, "regional", None):
        expected = "unknown"  # a rejection by the default region or host proves nothing
    assert verdict.status == expected, (verdict, fake.seen[:1])
    assert not canary.seen, "a redirect was followed to another host"
    assert fake.seen, "no request reached the provider"
    assert cred.secret not in repr(verdict) and cred.secret[-16:] not in repr(verdict)
    if verifier.provider != "aws":
        assert presented(cred.secret, fake.seen[0])
    else:
        assert PUBLIC_ID in fake.seen[0].headers["authorization"]  # SigV4: the key id signs, the secret does not travel
    if scenario == "ratelimited":
        assert len(fake.seen) == 2, "Retry-After: 0 is honoured once, then the answer is unknown"


@pytest.mark.parametrize("verifier", [VERIFIERS[r] for r in ("github.pat-classic", "slack.bot-token",
                                                             "aws.secret-access-key", "vault.service-token",
                                                             "openai.project-key", "stripe.secret-key-live")], ids=name)
def test_slow_provider_times_out_as_unknown(verifier: Verifier) -> None:
    with fake_server(Fake(verifier.examples().live, delay=1.5)) as fake, \
            ProviderClient(Limits(timeout=0.3, min_interval=0, retries=0), {"*": fake.url}) as client:
        verdict = verify_one(verifier, credential(verifier), client)
    assert verdict.status == "unknown" and "timeout" in verdict.reason


def test_live_verdict_reads_identity_scopes_and_expiry(client: ProviderClient) -> None:
    github = VERIFIERS["github.pat-classic"]
    with fake_server(Fake(github.examples().live)) as fake:
        client.endpoints = {"github": fake.url}
        verdict = verify_one(github, credential(github), client)
    assert verdict.status == "live" and verdict.identity == "x" and verdict.scopes == ("repo", "workflow")
    assert verdict.evidence == "GET /user -> HTTP 200 application/json"


def test_a_request_never_leaves_the_base_host(client: ProviderClient) -> None:
    from tokenward.verify.interface import Call

    with fake_server() as fake:
        http = client.bind("x", fake.url)
        for path in ("//evil.example/x", "@evil.example/x", "http://evil.example/"):
            answer = http.send(Call("GET", path))
            assert getattr(answer, "reason", "").startswith("refused"), path
    assert not fake.seen


@pytest.mark.parametrize("scenario", ("live", "invalid", "waf403", "redirect"))
@pytest.mark.parametrize("revoker", UNIQUE_REVOKERS, ids=name)
def test_revoker(revoker: Revoker, scenario: str, client: ProviderClient, monkeypatch: pytest.MonkeyPatch,
                 servers: tuple[Fake, Fake]) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAOPERATOR0000TEST")  # AWS: the operator's own credentials sign
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "operator-secret-for-the-fake")
    cred = credential(revoker)
    examples = revoker.examples()
    fake, canary = _serve(servers, {"live": examples.live, "invalid": examples.invalid}.get(scenario, ()), scenario)
    result = revoker.revoke(cred, client.bind(revoker.provider, fake.url))
    assert result.done is (scenario == "live"), result
    assert not canary.seen
    assert cred.secret not in repr(result)
    shown = " ".join(c.redacted(cred.secret).describe(fake.url) for c in revoker.calls(cred))
    assert cred.secret[-16:] not in shown and shown
