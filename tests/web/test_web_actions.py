"""Verify, revoke and rotate from the dashboard's JSON API against a real `tokenward serve`: the same code as
the CLI, the fake GitHub the CLI tests use, a real OpenBao; role-gated, confirmed, audited with the web user
as actor; the plaintext (old or new) in no response, log line or database file. Also the usage timeline,
granted vs used scopes, per-token violations and violations by owner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.openbao import BaoServer, openbao_dev_server
from tests.verify_fake import Fake, fake_server
from tests.web.actions_site import ActionSite, action_site, github_routes
from tests.web_site import backend_url

pytest_plugins = ["tests.conftest_pg"]


@pytest.fixture(scope="module")
def bao() -> Iterator[BaoServer]:
    with openbao_dev_server() as server:
        yield server


@pytest.fixture(scope="module")
def fake() -> Iterator[Fake]:
    with fake_server(Fake(github_routes())) as server:
        yield server


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def acting(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, fake: Fake,
           bao: BaoServer) -> Iterator[ActionSite]:
    base = tmp_path_factory.mktemp(f"web-actions-{request.param}")
    with action_site(base, backend_url(request.param, base), fake, bao) as s:
        yield s


def _events(c: httpx.Client, token_id: str) -> list[dict[str, object]]:
    return list(c.get(f"/api/tokens/{token_id}").json()["events"])


def _nowhere(a: ActionSite, secret: str, *texts: str) -> None:
    """secret is in no response text, no server log line and (SQLite) no database file."""
    assert a.site.log is not None
    texts = (*texts, a.site.log.read_text(errors="replace"))
    for text in texts:
        assert secret not in text and secret[4:20] not in text
    if a.site.db.startswith("sqlite:///"):
        for path in Path(a.site.db[len("sqlite:///"):]).parent.glob("inventory.db*"):
            assert secret.encode() not in path.read_bytes()


def test_verify_is_triage_gated_reads_the_recorded_place_and_is_audited(acting: ActionSite) -> None:
    a, secret = acting, acting.site.secrets[7]
    token_id = a.token_id(secret)
    a.fake.reset(github_routes())
    with a.site.client("rita") as reader, a.site.client("tina") as triager:
        assert reader.post(f"/api/tokens/{token_id}/verify").status_code == 403
        assert a.fake.seen == []
        got = triager.post(f"/api/tokens/{token_id}/verify")
        assert got.status_code == 200, got.text
        verdict = got.json()
        assert verdict["status"] == "live" and verdict["scopes"] == ["repo", "workflow"]
        assert verdict["verifier"] == "github"
        # the plaintext was re-read from the scanned file and went to the provider only
        assert a.fake.seen[-1].path == "/user" and a.fake.seen[-1].headers["authorization"] == f"Bearer {secret}"
        last = _events(reader, token_id)[-1]
        assert last["action"] == "verify" and last["actor"] == "web:tina"
        assert json.loads(str(last["note"]))["status"] == "live"
        assert triager.get(f"/api/tokens/{token_id}").json()["verdict"]["status"] == "live"
        assert triager.post(f"/api/tokens/{'e' * 64}/verify").status_code == 404
        page = triager.get(f"/tokens/{token_id}").text
    _nowhere(a, secret, got.text, page, json.dumps(last))


def test_revoke_needs_admin_and_confirmation_then_calls_the_provider(acting: ActionSite) -> None:
    a, secret = acting, acting.site.secrets[1]
    token_id = a.token_id(secret)
    a.fake.reset(github_routes())
    with a.site.client("admin") as admin, a.site.client("tina") as triager:
        assert triager.post(f"/api/tokens/{token_id}/revoke", json={"confirm": True}).status_code == 403
        refused = admin.post(f"/api/tokens/{token_id}/revoke", json={})
        assert refused.status_code == 400 and "confirm" in refused.json()["detail"]
        dry = admin.post(f"/api/tokens/{token_id}/revoke", json={"dry_run": True}).json()
        assert dry["dry_run"] and not dry["done"] and a.fake.seen == []
        assert "/credentials/revoke" in dry["requests"][0] and "<ghp_" in dry["requests"][0]
        done = admin.post(f"/api/tokens/{token_id}/revoke", json={"confirm": True})
        assert done.status_code == 200 and done.json()["done"], done.text
        assert json.loads(a.fake.seen[-1].body) == {"credentials": [secret]}
        detail = admin.get(f"/api/tokens/{token_id}").json()
        assert detail["token"]["status"] == "revoked"
        assert (detail["events"][-1]["action"], detail["events"][-1]["actor"]) == ("revoke", "web:admin")
    _nowhere(a, secret, json.dumps(dry), done.text, json.dumps(detail))


def test_rotate_through_openbao_is_admin_only_confirmed_and_audited(acting: ActionSite) -> None:
    a = acting
    token_id = a.token_id(a.vaulted)
    with a.site.client("admin") as admin, a.site.client("tina") as triager:
        page = admin.get(f"/tokens/{token_id}").text
        assert 'id="rotate-form"' in page and "openbao-kv" in page
        assert 'id="rotate-form"' not in triager.get(f"/tokens/{token_id}").text
        assert triager.post(f"/api/tokens/{token_id}/rotate", json={"confirm": True}).status_code == 403
        assert admin.post(f"/api/tokens/{token_id}/rotate", json={"overlap_seconds": 0}).status_code == 400
        done = admin.post(f"/api/tokens/{token_id}/rotate", json={"confirm": True, "overlap_seconds": 0})
        assert done.status_code == 200, done.text
        assert done.json()["state"] == "old-revoked" and done.json()["backend"] == "openbao-kv"
        again = admin.post(f"/api/tokens/{token_id}/rotate", json={"confirm": True, "overlap_seconds": 0})
        assert again.status_code == 409 and "already rotated" in again.json()["detail"]
        detail = admin.get(f"/api/tokens/{token_id}").json()
    assert detail["token"]["status"] == "rotated"
    rotations = [e for e in detail["events"] if e["action"] == "rotation"]
    assert rotations and {e["actor"] for e in rotations} == {"web:admin"}
    meta = a.bao.api("GET", f"secret/metadata/{a.kv_path}")["data"]
    assert meta["current_version"] == 2 and meta["versions"]["1"]["destroyed"] is True
    new = a.bao.api("GET", f"secret/data/{a.kv_path}?version=2")["data"]["data"]["token"]
    assert new != a.vaulted
    _nowhere(a, new, done.text, again.text, json.dumps(detail), admin_page(a, token_id))


def admin_page(a: ActionSite, token_id: str) -> str:
    """The token's page as the admin sees it."""
    with a.site.client("admin") as c:
        return c.get(f"/tokens/{token_id}").text


def test_rotate_without_a_secrets_manager_says_so(acting: ActionSite) -> None:
    token_id = acting.token_id(acting.site.secrets[10])
    with acting.site.client("admin") as admin:
        got = admin.post(f"/api/tokens/{token_id}/rotate", json={"confirm": True})
        assert got.status_code == 409 and "no secrets-manager location" in got.json()["detail"]
        page = admin.get(f"/tokens/{token_id}").text
    assert 'id="rotate-form"' not in page and 'id="revoke-form"' in page


def test_usage_timeline_marks_alerts_and_compares_scopes(acting: ActionSite) -> None:
    token_id = acting.token_id(acting.monitored)
    with acting.site.client("rita") as c:
        usage = c.get(f"/api/tokens/{token_id}/usage").json()
        page = c.get(f"/tokens/{token_id}").text
    assert usage["monitored"] and usage["events"] == 31
    assert {x["detector"] for x in usage["alerts"]} == {"new-country", "sensitive-action"}
    assert [x[0] for x in usage["actions"]] == ["git.clone", "repo.destroy"]
    assert usage["scopes"]["granted"] == ["repo", "workflow"] and "workflow" in usage["scopes"]["unused"]
    assert 'id="timeline"' in page and page.count('class="alert-mark') == 2 and "2 alerts marked" in page
    assert "(granted, never needed: remove)" in page


def test_violations_per_token_and_by_owner(acting: ActionSite) -> None:
    token_id = acting.token_id(acting.site.secrets[11])
    with acting.site.client("rita") as c:
        own = c.get(f"/api/tokens/{token_id}/violations").json()
        owners = c.get("/api/owners").json()
        page = c.get("/violations").text
        chosen = owners[0]["owner"]
        by_owner = c.get("/api/violations", params={"owner": chosen if chosen is not None else "-"}).json()
        other = c.get("/violations", params={"owner": "nobody-at-all"})
    assert {"leaked", "wrong-storage"} <= {v["check"] for v in own}
    assert all(v["remediation"] and v["evidence"] for v in own)
    assert owners and owners[0]["open"] >= 1 and sum(o["open"] for o in owners) >= 10
    assert by_owner["tokens"] >= 1 and by_owner["violations"] and not by_owner["truncated"]
    assert 'id="owners"' in page and 'id="owner-violations"' in page and 'href="/tokens/' in page
    assert other.status_code == 200  # an unknown owner shows the first one, never an error
