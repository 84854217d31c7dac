"""Slack, from its Web API documentation.

Slack answers HTTP 200 for success and failure alike; the body's `ok` decides. auth.test: {"ok": true,
"team", "user", …} with the granted scopes in `x-oauth-scopes`; a dead token: {"ok": false, "error":
"invalid_auth" | "not_authed" | "token_revoked" | "token_expired" | "account_inactive"}. Any other error
(ratelimited, fatal_error…) proves nothing. auth.revoke: {"ok": true, "revoked": true}.
Incoming webhooks: POSTing an empty JSON object to a live hook answers 400 "no_text" (nothing is posted);
a revoked one 403 "invalid_token" or 404 "no_service".
"""

from __future__ import annotations

from tokenward.verify.api import BEARER, Api, Request, RevokeApi, Shape, Step
from tokenward.verify.interface import Credential

SLACK = "https://slack.com/api"
DEAD = ("invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive")
TOKEN_RULES = ("slack.bot-token", "slack.user-token", "slack.workspace-token", "slack.rotating-bot-token",
               "slack.rotating-user-token", "slack.legacy-token")
WEBHOOK_RULES = ("slack.incoming-webhook",)


def _hook(cred: Credential) -> dict[str, str]:
    """The webhook's path: the URL after its host (the host is the documented one, hooks.slack.com)."""
    _, _, path = cred.secret.partition("hooks.slack.com")
    return {"hookpath": path or "/"}


VERIFIERS = (
    Api("slack", TOKEN_RULES, SLACK, Request("POST", "/auth.test", BEARER),
        live=Shape((200,), keys=("team_id", "user_id"), equals=(("ok", True),)),
        invalid=(Shape((200,), equals=(("ok", False), ("error", DEAD))),),
        identity=("user", "team", "url"), scopes_header="x-oauth-scopes",
        live_headers=(("x-oauth-scopes", "chat:write,channels:read"),),
        docs="https://api.slack.com/methods/auth.test"),
    Api("slack", WEBHOOK_RULES, "https://hooks.slack.com", Request("POST", "{hookpath}", json={}),
        live=Shape((400,), text="no_text"),
        invalid=(Shape((403,), text="invalid_token"), Shape((404,), text="no_service"),
                 Shape((410,), text="channel_is_archived")),
        derive=_hook, docs="https://api.slack.com/messaging/webhooks#handling_errors"),
)

REVOKERS = (
    RevokeApi("slack", TOKEN_RULES, SLACK,
              (Step(Request("POST", "/auth.revoke", BEARER),
                    Shape((200,), equals=(("ok", True), ("revoked", True)))),),
              docs="https://api.slack.com/methods/auth.revoke"),
)
