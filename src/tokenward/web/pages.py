"""The server-rendered pages: login, overview, inventory, token detail, violations by owner, alerts, scans, API
docs, and the actions (triage, owner, verify, revoke, rotate)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from tokenward.policy.model import Violation
from tokenward.rotate.service import target_of
from tokenward.store import tables as t
from tokenward.store.actions import assign_owner
from tokenward.store.dashboard import problems_by_owner, usage_trace
from tokenward.store.queries import NO_OWNER, SORTS, TokenQuery
from tokenward.store.users import end_session
from tokenward.verify.cloud import AwsKeyRevoker
from tokenward.verify.manual import manual_steps
from tokenward.verify.registry import revoker_for, verifier_for
from tokenward.web.actions import ActionError
from tokenward.web.api import Acts, Policy, Status
from tokenward.web.insight import TokenReview
from tokenward.web.security import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    open_session,
    require,
    safe_next,
    secure_request,
)
from tokenward.web.state import AppState, Auth, Fragment, State

router = APIRouter(include_in_schema=False)
FormText = Annotated[str, Form(max_length=2000)]
Short = Annotated[str, Query(max_length=200)]


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


@router.get("/login", response_class=HTMLResponse)
def login_form(st: State, request: Request, next: Annotated[str, Query(max_length=500)] = "/") -> Response:
    """The login form (an API key); its CSRF token is a double-submit cookie, there being no session yet."""
    token = secrets.token_urlsafe(24)
    response = st.render("login.html", None, login_csrf=token, next=safe_next(next), error=None)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/login",
                        secure=secure_request(request, st.settings.secure_cookies))
    return response


@router.post("/login")
def login(st: State, request: Request, key: FormText, csrf: FormText, next: FormText = "/") -> Response:
    """Check the key (rate limited per client address) and start a session cookie."""
    cookie = request.cookies.get(LOGIN_COOKIE)
    if not cookie or not secrets.compare_digest(cookie.encode(), csrf.encode()):
        return st.render("login.html", None, status=403, login_csrf=cookie or "", next=safe_next(next),
                         error="The login form expired: reload the page and try again.")
    if st.limiter.blocked(_client(request)):
        return st.render("login.html", None, status=429, login_csrf=cookie, next=safe_next(next),
                         error="Too many failed logins from this address: wait a few minutes.")
    user = st.keys.user(st.inventory, key)
    if user is None:
        st.limiter.failed(_client(request))
        return st.render("login.html", None, status=401, login_csrf=cookie, next=safe_next(next),
                         error="That key is not valid.")
    value, _ = open_session(st.inventory, user, st.settings.session_hours)
    response = RedirectResponse(safe_next(next), 303)
    response.set_cookie(SESSION_COOKIE, value, httponly=True, samesite="strict", path="/",
                        secure=secure_request(request, st.settings.secure_cookies),
                        max_age=int(st.settings.session_hours * 3600))
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(st: State, request: Request, who: Auth, csrf: FormText) -> Response:
    """End the session."""
    check_csrf(who, csrf)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    end_session(st.inventory, cookie)
    st.sessions.forget(cookie)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def overview(st: State, who: Auth) -> Response:
    """Exposure overview: cards and charts."""
    stamp = st.queries.changes()
    # the cards, charts and latest lists change only with the inventory (and slowly with the clock: the
    # cache's ttl); the chrome around them (user, CSRF token) is the per-request part
    main = st.cache.get(f"overview:{who.user.role}", stamp, lambda: _overview_main(st, stamp))
    return st.render("overview.html", who, stamp=stamp, page="overview", main=main)


def _overview_main(st: AppState, stamp: str) -> Fragment:
    summary = st.cache.get("summary", stamp, lambda: st.queries.summary(datetime.now(UTC)))
    return st.fragment("_overview.html", s=summary, scans=st.queries.scans(5), alerts=st.queries.alerts(5))


@router.get("/tokens", response_class=HTMLResponse)
def inventory(st: State, who: Auth, request: Request, provider: Short = "", status: Short = "", owner: Short = "",
              location: Short = "", severity: Short = "", q: Short = "", sort: Short = "severity",
              order: Short = "asc", page: Annotated[int, Query(ge=1, le=1_000_000)] = 1) -> Response:
    """The inventory table: server-side filters, sort and paging (an empty or unknown choice means any)."""
    wanted = TokenQuery(provider or None, _among(status, t.STATUSES), owner or None, _among(location, t.SOURCE_KINDS),
                        _among(severity, t.SEVERITIES), q or None, sort if sort in SORTS else "severity",
                        order == "desc", page, st.settings.page_size)
    stamp = st.queries.changes()
    found = st.queries.tokens(wanted)
    params = {k: v for k, v in dict(request.query_params).items() if v and k != "page"}
    return st.render("tokens.html", who, stamp=stamp, page="tokens", found=found, want=wanted, params=params,
                     choices=st.cache.get("choices", stamp, st.queries.choices), sorts=SORTS, no_owner=NO_OWNER,
                     page_url=lambda n: "/tokens?" + urlencode({**params, "page": n}),
                     sort_url=lambda col: "/tokens?" + urlencode(_sorted(params, col)))


def _among(value: str, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None


def _sorted(params: dict[str, str], column: str) -> dict[str, str]:
    flip = params.get("sort", "severity") == column and params.get("order", "asc") == "asc"
    return {**params, "sort": column, "order": "desc" if flip else "asc"}


@router.get("/tokens/{token_id}", response_class=HTMLResponse)
def token(st: State, who: Auth, policy: Policy, token_id: str) -> Response:
    """One token: identity, actions, policy violations, scopes, usage timeline, occurrences, alerts, audit trail."""
    if not _is_id(token_id):
        return st.render("error.html", who, status=404, status_code=404, message="no such token")
    stamp = st.queries.changes()
    v = st.queries.token(token_id)
    trace = usage_trace(st.inventory, token_id)
    review = policy.token(token_id, trace, datetime.now(UTC))
    return st.render("token.html", who, stamp=stamp, page="tokens", v=v, trace=trace, review=review,
                     statuses=Status.__args__, may_triage=who.may("triage"), may_admin=who.may("admin"),  # type: ignore[attr-defined]
                     can=_capabilities(v.detail.rule_ids, v.detail.token.provider, v.detail.token.kind, review))


def _capabilities(rule_ids: tuple[str, ...], provider: str, kind: str, review: TokenReview) -> dict[str, Any]:
    """Which provider actions the token supports: verify, revoke (else the manual steps), rotate (where)."""
    target = target_of(review.view.records) if review.view else None
    return {"verify": verifier_for(rule_ids) is not None, "revoke": revoker_for(rule_ids) is not None,
            "manual": manual_steps(provider, kind), "rotate": f"{target.backend} {target.location}" if target else None}


@router.post("/tokens/{token_id}/triage")
def triage(st: State, who: Auth, token_id: str, csrf: FormText, status: FormText,
           note: FormText = "") -> Response:
    """Set the status with a note (role triage) and return to the token."""
    check_csrf(who, csrf)
    require(who, "triage")
    st.inventory.triage(_full(token_id), status, note.strip() or None, who.actor, datetime.now(UTC))
    return RedirectResponse(f"/tokens/{_full(token_id)}#audit", 303)


@router.post("/tokens/{token_id}/owner")
def owner(st: State, who: Auth, token_id: str, csrf: FormText, owner: FormText = "") -> Response:
    """Assign the owner (role triage) and return to the token."""
    check_csrf(who, csrf)
    require(who, "triage")
    assign_owner(st.inventory, _full(token_id), owner, who.actor, datetime.now(UTC))
    return RedirectResponse(f"/tokens/{_full(token_id)}#audit", 303)


def _is_id(token_id: str) -> bool:
    """True for a token id: 64 lowercase hexadecimal characters."""
    return len(token_id) == 64 and all(c in "0123456789abcdef" for c in token_id)


def _full(token_id: str) -> str:
    """The token id if it is one (64 hex), else a value no token has (the store then says 'no token')."""
    return token_id if _is_id(token_id) else "0" * 64


def _confirmed(value: str) -> None:
    """A destructive form must carry its ticked confirmation box (browsers enforce `required`; this is the check)."""
    if value != "yes":
        raise ActionError("this action needs an explicit confirmation: tick the confirmation box", 400)


@router.post("/tokens/{token_id}/verify")
def verify(who: Auth, acts: Acts, token_id: str, csrf: FormText) -> Response:
    """Verify the token with its provider now (role triage) and return to its verification."""
    check_csrf(who, csrf)
    require(who, "triage")
    acts.verify(_full(token_id), who.actor)
    return RedirectResponse(f"/tokens/{_full(token_id)}#verification", 303)


@router.post("/tokens/{token_id}/revoke")
def revoke(st: State, who: Auth, acts: Acts, token_id: str, csrf: FormText, dry_run: FormText = "",
           confirm: FormText = "", delete: FormText = "") -> Response:
    """Revoke (role admin): a dry run shows the redacted requests and the confirmation form; the confirmed
    form revokes through the provider and returns to the audit trail."""
    check_csrf(who, csrf)
    require(who, "admin")
    tid = _full(token_id)
    if dry_run == "yes":
        plan = acts.revoke(tid, who.actor, dry_run=True)
        detail = st.inventory.token_detail(tid)
        aws = isinstance(revoker_for(detail.rule_ids), AwsKeyRevoker)
        return st.render("revoke.html", who, page="tokens", tk=detail.token, plan=plan, aws=aws)
    _confirmed(confirm)
    done = acts.revoke(tid, who.actor, delete=delete == "yes")
    if not done.done:
        raise ActionError(f"not revoked: {done.reason} (recorded in the audit trail)", 502)
    return RedirectResponse(f"/tokens/{tid}#audit", 303)


@router.post("/tokens/{token_id}/rotate")
def rotate(who: Auth, acts: Acts, token_id: str, csrf: FormText, confirm: FormText = "",
           overlap: Annotated[int, Form(ge=0, le=30 * 86400)] = 3600) -> Response:
    """Rotate, or take the next step of a rotation under way (role admin, confirmed); back to the audit trail."""
    check_csrf(who, csrf)
    require(who, "admin")
    _confirmed(confirm)
    acts.rotate(_full(token_id), who.actor, overlap, 7 * 86400)
    return RedirectResponse(f"/tokens/{_full(token_id)}#audit", 303)


@router.get("/violations", response_class=HTMLResponse)
def violations(st: State, who: Auth, policy: Policy, owner: Short = "") -> Response:
    """Open-token problems per owner, and the policy violations (with remediation) of the chosen owner."""
    stamp = st.queries.changes()
    owners = st.cache.get("owners", stamp,
                          lambda: problems_by_owner(st.inventory, datetime.now(UTC), st.settings.overdue_days))
    known = {o.owner if o.owner is not None else NO_OWNER for o in owners}
    selected = owner if owner in known else next(iter(o.owner or NO_OWNER for o in owners), None)
    found = None if selected is None else policy.owner(None if selected == NO_OWNER else selected,
                                                       datetime.now(UTC))
    return st.render("violations.html", who, stamp=stamp, page="violations", owners=owners, selected=selected,
                     found=found, no_owner=NO_OWNER, owner_url=lambda o: "/violations?" + urlencode({"owner": o}),
                     token_link=_token_link)


def _token_link(v: Violation) -> str | None:
    """The page of the violation's token (import-only tokens have none)."""
    return f"/tokens/{v.token_key}" if _is_id(v.token_key) else None


@router.get("/alerts", response_class=HTMLResponse)
def alerts(st: State, who: Auth) -> Response:
    """Usage-monitoring alerts, newest first."""
    return st.render("alerts.html", who, page="alerts", alerts=st.queries.alerts(200))


@router.get("/scans", response_class=HTMLResponse)
def scans(st: State, who: Auth, page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    """Scan history, newest first."""
    return st.render("scans.html", who, page="scans", scans=st.queries.scans(50, (page - 1) * 50), pageno=page)


@router.get("/openapi.json")
def openapi(request: Request, who: Auth) -> Response:
    """The OpenAPI document of the JSON API (authenticated, like the API itself)."""
    return JSONResponse(request.app.openapi())


@router.get("/docs", response_class=HTMLResponse)
def docs(st: State, request: Request, who: Auth) -> Response:
    """The API reference, rendered here from the OpenAPI document (no CDN-hosted viewer)."""
    spec: dict[str, Any] = request.app.openapi()
    return st.render("docs.html", who, page="docs", spec=spec)
