"""The provider actions, usage timeline and violations pages in headless Chromium against a real `tokenward
serve` (fake GitHub, real OpenBao): an admin verifies, reviews the revocation's requests, confirms and sees
the audit event; roles see only what they may do; hostile names stay inert; no console error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.openbao import openbao_dev_server
from tests.verify_fake import Fake, fake_server
from tests.web.actions_site import ActionSite, action_site, github_routes
from tests.web.test_web_browser import INERT, browsing
from tests.web_site import backend_url

INERT_PAGE = {"bad": [], "scripts": ["/static/app.js"], "imgs": 0, "alerted": 0}


@pytest.fixture(scope="module")
def acting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionSite]:
    base = tmp_path_factory.mktemp("web-actions-browser")
    with openbao_dev_server() as bao, fake_server(Fake(github_routes())) as fake, \
            action_site(base, backend_url("sqlite", base), fake, bao) as s:
        yield s


def _open_token(page: object, a: ActionSite, secret: str) -> str:
    url = f"{a.site.url}/tokens/{a.token_id(secret)}"
    page.goto(url)  # type: ignore[attr-defined]
    return url


def test_admin_verifies_then_revokes_after_seeing_the_requests(acting: ActionSite, tmp_path: Path) -> None:
    a, secret = acting, acting.site.secrets[5]
    a.fake.reset(github_routes())
    with browsing(a.site, "admin", tmp_path) as (page, problems):
        page.evaluate("window.alert = () => { window.__alerted = (window.__alerted || 0) + 1; }")
        _open_token(page, a, secret)
        page.click("#verify-form button")
        page.wait_for_selector("#verdict >> text=live")
        assert "repo, workflow" in page.inner_text("#verdict")
        page.click("#revoke-form button")
        page.wait_for_selector("#revoke-requests")
        assert "/credentials/revoke" in page.inner_text("#revoke-requests") and "<ghp_" in page.inner_text("main")
        assert page.evaluate(INERT)["bad"] == []
        page.screenshot(path=str(tmp_path / "revoke-plan.png"), full_page=True)
        assert [s.path for s in a.fake.seen] == ["/user"]  # the plan sent nothing
        page.check("#revoke-confirm input[name=confirm]")
        page.click("#revoke-confirm button")
        page.wait_for_selector("#events >> text=revoke")
        assert "web:admin" in page.inner_text("#events") and "revoked" in page.inner_text("#facts")
        assert [s.path for s in a.fake.seen] == ["/user", "/credentials/revoke"]
        page.screenshot(path=str(tmp_path / "revoked.png"), full_page=True)
        text = page.content()
        assert secret not in text and problems == []


@pytest.mark.parametrize(("user", "forms"), [("tina", {"verify-form"}), ("rita", set()),
                                             ("admin", {"verify-form", "revoke-form", "rotate-form"})])
def test_each_role_sees_only_its_actions(acting: ActionSite, tmp_path: Path, user: str, forms: set[str]) -> None:
    with browsing(acting.site, user, tmp_path) as (page, problems):
        _open_token(page, acting, acting.vaulted)
        page.wait_for_selector("#provider-actions")
        shown = {f for f in ("verify-form", "revoke-form", "rotate-form") if page.query_selector(f"#{f}")}
        assert shown == forms
        if user == "rita":
            status = page.evaluate("""async () => {
              const form = new FormData();
              form.append('csrf', document.body.dataset.csrf);
              const r = await fetch(location.pathname + '/verify', {method: 'POST', body: form});
              return r.status;
            }""")
            assert status == 403
        assert [p for p in problems if "status of 403" not in p] == []


def test_usage_timeline_and_violations_by_owner(acting: ActionSite, tmp_path: Path) -> None:
    a = acting
    with browsing(a.site, "rita", tmp_path) as (page, problems):
        _open_token(page, a, a.monitored)
        page.wait_for_selector("#timeline")
        assert page.locator("#timeline .alert-mark").count() == 2
        assert "repo.destroy" in page.inner_text("#usage-actions")
        assert "workflow" in page.inner_text("#scope-facts")
        assert page.locator("#violations + details li").count() >= 2
        page.screenshot(path=str(tmp_path / "token-usage.png"), full_page=True)
        page.click("nav >> text=Violations")
        page.wait_for_selector("#owners")
        page.click("#owners tbody a >> nth=0")
        page.wait_for_selector("#owner-violations")
        assert "Fix:" in page.inner_text("#owner-violations") or page.locator("p.fix").count() > 0
        assert page.evaluate(INERT) == INERT_PAGE
        page.screenshot(path=str(tmp_path / "violations.png"), full_page=True)
        page.click("#owner-violations a >> nth=0")
        page.wait_for_selector("#facts")
        assert problems == []
