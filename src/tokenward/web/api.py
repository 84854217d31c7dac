"""The JSON API under /api: tokens (filter, sort, page), token detail, usage and violations, summary, violations
by owner, scans, alerts, changes, and the actions (triage, owner, verify, revoke, rotate).

Every endpoint but /api/health needs an API key (`Authorization: Bearer twk_…`) or a browser session; a
session's writes also need its CSRF token in `X-CSRF-Token`.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from pydantic import BaseModel, Field

from tokenward.policy.model import Violation
from tokenward.store import tables as t
from tokenward.store.actions import assign_owner
from tokenward.store.dashboard import AlertMark, OwnerProblems, problems_by_owner, usage_trace
from tokenward.store.queries import NO_OWNER, AlertRow, ScanRow, Summary, TokenQuery
from tokenward.store.records import EventRow, TokenRow
from tokenward.web.actions import ActionError, Actions, RevokeResult, RotateResult, VerifyResult
from tokenward.web.insight import Reviewer, Scopes
from tokenward.web.security import Principal, check_csrf, require
from tokenward.web.state import Auth, State

router = APIRouter(prefix="/api", tags=["api"])
TOKEN_ID = r"^[0-9a-f]{64}$"
TokenId = Annotated[str, Path(pattern=TOKEN_ID, description="The token id (64 hexadecimal characters).")]
Status = Literal["open", "false-positive", "accepted-risk", "revoked", "rotated"]
Severity = Literal["critical", "high", "medium", "low"]
Location = Literal["repo", "file", "log", "export"]
Sort = Literal["severity", "last_seen", "first_seen", "provider", "status", "owner", "occurrences"]
Csrf = Annotated[str | None, Header(alias="X-CSRF-Token", description="A browser session's CSRF token.")]
assert set(Status.__args__) == set(t.STATUSES)  # type: ignore[attr-defined]
MAX_OVERLAP, MAX_GRACE = 30 * 86400, 90 * 86400


def actions_of(request: Request) -> Actions:
    """The app's verify/revoke/rotate service."""
    found: Actions = request.app.state.actions
    return found


def reviewer_of(request: Request) -> Reviewer:
    """The app's policy evaluator."""
    found: Reviewer = request.app.state.reviewer
    return found


Acts = Annotated[Actions, Depends(actions_of)]
Policy = Annotated[Reviewer, Depends(reviewer_of)]


class TokenList(BaseModel):
    """One page of tokens."""

    total: int
    page: int
    per_page: int
    pages: int
    items: list[TokenRow]


class TokenOut(BaseModel):
    """Everything about one token (previews and public ids only: the inventory holds no secret)."""

    token: TokenRow
    rule_ids: list[str]
    public_ids: list[tuple[str, str]]
    occurrences: list[dict[str, Any]]
    events: list[EventRow]
    verdict: dict[str, Any] | None
    verified_at: datetime | None
    alerts: list[AlertRow]


class TriageIn(BaseModel):
    """A triage decision."""

    status: Status
    note: str | None = Field(default=None, max_length=2000)


class OwnerIn(BaseModel):
    """An owner assignment (null or empty: no owner)."""

    owner: str | None = Field(default=None, max_length=200)


class ActionOut(BaseModel):
    """What an action changed: the audit event, or null when nothing changed."""

    changed: bool
    event: EventRow | None


class RevokeIn(BaseModel):
    """A revocation: confirm must be true unless dry_run (which only shows the redacted requests)."""

    confirm: bool = False
    dry_run: bool = False
    delete: bool = Field(default=False, description="AWS: also delete the access key once it is inactive.")


class RotateIn(BaseModel):
    """A rotation (or the next step of one under way): confirm must be true."""

    confirm: bool = False
    overlap_seconds: int = Field(default=3600, ge=0, le=MAX_OVERLAP, description="How long both credentials work.")
    grace_seconds: int = Field(default=7 * 86400, ge=0, le=MAX_GRACE,
                               description="AWS: delete the Inactive old key after this.")


class UsageOut(BaseModel):
    """What usage monitoring recorded about a token, and its granted vs used scopes."""

    monitored: bool
    first_at: datetime | None
    last_at: datetime | None
    events: int
    errors: int
    denied: int
    actions: list[tuple[str, int, datetime | None]]
    alerts: list[AlertMark]
    scopes: Scopes


class OwnerViolations(BaseModel):
    """The policy violations of one owner's open tokens (at most 500 tokens evaluated)."""

    owner: str | None
    tokens: int
    truncated: bool
    violations: list[Violation]


class Changes(BaseModel):
    """The current change stamp and whether it differs from the one the client had."""

    stamp: str
    changed: bool


class Me(BaseModel):
    """The authenticated user."""

    name: str
    role: str


@router.get("/health", summary="Liveness (no authentication)")
def health() -> dict[str, str]:
    """The server is up."""
    return {"status": "ok"}


@router.get("/me", response_model=Me)
def me(who: Auth) -> Me:
    """Who the key or session belongs to, and its role."""
    return Me(name=who.user.name, role=who.user.role)


@router.get("/summary", response_model=Summary)
def summary(st: State, who: Auth) -> Summary:
    """Overview counts (tokens, leaked, leaked-and-live, unmapped, overdue, violations) and breakdowns."""
    return st.cache.get("summary", st.queries.changes(), lambda: st.queries.summary(datetime.now(UTC)))


@router.get("/tokens", response_model=TokenList)
def tokens(st: State, who: Auth, provider: Annotated[str | None, Query(max_length=64)] = None,
           status: Status | None = None, owner: Annotated[str | None, Query(max_length=200)] = None,
           location: Location | None = None, severity: Severity | None = None,
           q: Annotated[str | None, Query(max_length=200, description="Search preview, owner, id, path")] = None,
           sort: Sort = "severity", order: Literal["asc", "desc"] = "asc",
           page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
           per_page: Annotated[int, Query(ge=1, le=200)] = 50) -> TokenList:
    """Tokens matching the filters, sorted and paged by the database."""
    found = st.queries.tokens(TokenQuery(provider, status, owner, location, severity, q, sort, order == "desc",
                                         page, per_page))
    return TokenList(total=found.total, page=found.page, per_page=found.per_page, pages=found.pages,
                     items=list(found.items))


@router.get("/tokens/{token_id}", response_model=TokenOut)
def token(st: State, who: Auth, token_id: TokenId) -> TokenOut:
    """One token: occurrences with provenance, rules, public ids, audit events, verification, alerts."""
    view = st.queries.token(token_id)
    d = view.detail
    return TokenOut(token=d.token, rule_ids=list(d.rule_ids), public_ids=list(d.public_ids),
                    occurrences=[asdict(o) for o in d.occurrences], events=list(d.events), verdict=view.verdict,
                    verified_at=view.verified_at, alerts=list(view.alerts))


@router.post("/tokens/{token_id}/triage", response_model=ActionOut)
def triage(st: State, who: Auth, token_id: TokenId, body: TriageIn, csrf: Csrf = None) -> ActionOut:
    """Set the token's status with a note (role triage); audited with the user as actor."""
    check_csrf(who, csrf)
    require(who, "triage")
    event = st.inventory.triage(token_id, body.status, body.note or None, who.actor, datetime.now(UTC))
    return ActionOut(changed=event is not None, event=event)


@router.post("/tokens/{token_id}/owner", response_model=ActionOut)
def owner(st: State, who: Auth, token_id: TokenId, body: OwnerIn, csrf: Csrf = None) -> ActionOut:
    """Assign (or clear) the token's owner (role triage); audited with the user as actor."""
    check_csrf(who, csrf)
    require(who, "triage")
    event = assign_owner(st.inventory, token_id, body.owner, who.actor, datetime.now(UTC))
    return ActionOut(changed=event is not None, event=event)


@router.get("/scans", response_model=list[ScanRow])
def scans(st: State, who: Auth, limit: Annotated[int, Query(ge=1, le=200)] = 50,
          offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list[ScanRow]:
    """Recorded scans, newest first."""
    return st.queries.scans(limit, offset)


@router.get("/alerts", response_model=list[AlertRow])
def alerts(st: State, who: Auth, limit: Annotated[int, Query(ge=1, le=200)] = 100) -> list[AlertRow]:
    """Usage-monitoring alerts, newest first."""
    return st.queries.alerts(limit)


@router.get("/changes", response_model=Changes)
def changes(st: State, who: Auth, since: Annotated[str | None, Query(max_length=200)] = None) -> Changes:
    """A cheap change stamp: pages poll it and refresh when a scan, import, triage or alert lands."""
    stamp = st.queries.changes()
    return Changes(stamp=stamp, changed=since is not None and since != stamp)


@router.get("/tokens/{token_id}/usage", response_model=UsageOut)
def usage(st: State, who: Auth, policy: Policy, token_id: TokenId) -> UsageOut:
    """The token's usage trace from `monitor` (span, counters, actions, alerts) and granted vs used scopes."""
    st.inventory.token_detail(token_id)  # 404 for an unknown token
    trace = usage_trace(st.inventory, token_id)
    review = policy.token(token_id, trace, datetime.now(UTC))
    return UsageOut(monitored=trace.monitored, first_at=trace.first_at, last_at=trace.last_at, events=trace.events,
                    errors=trace.errors, denied=trace.denied, actions=list(trace.actions), alerts=list(trace.alerts),
                    scopes=review.scopes)


@router.get("/tokens/{token_id}/violations", response_model=list[Violation])
def token_violations(st: State, who: Auth, policy: Policy, token_id: TokenId) -> list[Violation]:
    """The token's policy violations (built-in policy), most severe first, each with evidence and remediation."""
    st.inventory.token_detail(token_id)
    return list(policy.token(token_id, usage_trace(st.inventory, token_id), datetime.now(UTC)).violations)


@router.get("/owners", response_model=list[OwnerProblems])
def owners(st: State, who: Auth) -> list[OwnerProblems]:
    """Open tokens per owner with how many are leaked or overdue (null owner: the unmapped tokens)."""
    return st.cache.get("owners", st.queries.changes(),
                        lambda: problems_by_owner(st.inventory, datetime.now(UTC), st.settings.overdue_days))


@router.get("/violations", response_model=OwnerViolations)
def violations(st: State, who: Auth, policy: Policy,
               owner: Annotated[str, Query(max_length=200, description="An owner, or - for unmapped")] = NO_OWNER
               ) -> OwnerViolations:
    """The policy violations of one owner's open tokens, most severe first."""
    found = policy.owner(None if owner == NO_OWNER else owner.replace("\x00", ""), datetime.now(UTC))
    return OwnerViolations(owner=found.owner, tokens=found.tokens, truncated=found.truncated,
                           violations=list(found.violations))


def _gate(who: Principal, csrf: str | None, role: str, confirmed: bool = True) -> None:
    """CSRF (sessions), then the role, then the explicit confirmation of a destructive action."""
    check_csrf(who, csrf)
    require(who, role)
    if not confirmed:
        raise ActionError("this action needs an explicit confirmation (confirm: true)", 400)


@router.post("/tokens/{token_id}/verify", response_model=VerifyResult)
def verify(who: Auth, acts: Acts, token_id: TokenId, csrf: Csrf = None) -> VerifyResult:
    """Ask the provider whether the token works (role triage): the plaintext is re-read from a recorded place,
    in memory only; the verdict is recorded as a verify event with the user as actor."""
    _gate(who, csrf, "triage")
    return acts.verify(token_id, who.actor)


@router.post("/tokens/{token_id}/revoke", response_model=RevokeResult)
def revoke(who: Auth, acts: Acts, token_id: TokenId, body: RevokeIn, csrf: Csrf = None) -> RevokeResult:
    """Revoke the token through its provider (role admin, confirm: true; dry_run shows the redacted requests)."""
    _gate(who, csrf, "admin", body.confirm or body.dry_run)
    return acts.revoke(token_id, who.actor, body.dry_run, body.delete)


@router.post("/tokens/{token_id}/rotate", response_model=RotateResult)
def rotate(who: Auth, acts: Acts, token_id: TokenId, body: RotateIn, csrf: Csrf = None) -> RotateResult:
    """Rotate (or resume rotating) the token in its secrets manager, dual-phase (role admin, confirm: true)."""
    _gate(who, csrf, "admin", body.confirm)
    return acts.rotate(token_id, who.actor, body.overlap_seconds, body.grace_seconds)
