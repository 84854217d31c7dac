"""Code forges: GitHub (REST v3) and GitLab (REST v4), from their API documentation.

GitHub: GET /user answers 200 with the user (`login`), classic scopes in `X-OAuth-Scopes` and the expiry
in `GitHub-Authentication-Token-Expiration`; a bad token gets 401 {"message": "Bad credentials"}.
Installation tokens (ghs_) cannot call /user and are checked with GET /installation/repositories.
Revocation: POST /credentials/revoke (unauthenticated, 202) for ghp_/github_pat_/gho_/ghu_/ghr_,
DELETE /installation/token (204) for an installation token.
GitLab: GET /personal_access_tokens/self answers the token's name, scopes and expiry; 401
{"message": "401 Unauthorized"} for a bad one; DELETE of the same path revokes it (204).
"""

from __future__ import annotations

from tokenward.verify.api import Api, Request, RevokeApi, Shape, Step

GH = "https://api.github.com"
GH_HEADERS = (("Authorization", "Bearer {token}"), ("Accept", "application/vnd.github+json"),
              ("X-GitHub-Api-Version", "2022-11-28"))
GH_BAD = (Shape((401,), equals=(("message", "Bad credentials"),)),)
GH_USER_RULES = ("github.pat-classic", "github.oauth-token", "github.user-to-server", "github.pat-fine-grained")
GH_DOCS = "https://docs.github.com/en/rest/users/users#get-the-authenticated-user"

VERIFIERS = (
    Api("github", GH_USER_RULES, GH, Request("GET", "/user", GH_HEADERS),
        live=Shape((200,), keys=("login", "id")), invalid=GH_BAD, identity=("login",),
        scopes_header="x-oauth-scopes", expires_header="github-authentication-token-expiration", docs=GH_DOCS,
        live_headers=(("X-OAuth-Scopes", "repo, workflow"),)),
    Api("github", ("github.server-to-server",), GH,
        Request("GET", "/installation/repositories", GH_HEADERS, params=(("per_page", "1"),)),
        live=Shape((200,), keys=("total_count", "repositories")), invalid=GH_BAD,
        identity=("repositories.0.owner.login",),
        docs="https://docs.github.com/en/rest/apps/installations#list-repositories-accessible-to-the-app-installation"),
    Api("gitlab", ("gitlab.pat", "gitlab.pat-routable"), "https://gitlab.com/api/v4",
        Request("GET", "/personal_access_tokens/self", (("PRIVATE-TOKEN", "{token}"),)),
        live=Shape((200,), keys=("id", "scopes", "active")),
        invalid=(Shape((401,), equals=(("message", "401 Unauthorized"),)),),
        identity=("name", "user_id"), scopes="scopes", expires="expires_at",
        regional="a self-managed GitLab is not gitlab.com (set its URL with --endpoint gitlab=URL)",
        docs="https://docs.gitlab.com/api/personal_access_tokens/#get-single-personal-access-token"),
    Api("gitlab", ("gitlab.runner-auth-token",), "https://gitlab.com/api/v4",
        Request("POST", "/runners/verify", json={"token": "{token}"}),
        live=Shape((200,), keys=("id",)), invalid=(Shape((403,), equals=(("message", "403 Forbidden"),)),),
        identity=("id",), expires="token_expires_at",
        regional="a self-managed GitLab is not gitlab.com (set its URL with --endpoint gitlab=URL)",
        docs="https://docs.gitlab.com/api/runners/#verify-authentication-for-a-registered-runner"),
)

REVOKERS = (
    RevokeApi("github", (*GH_USER_RULES, "github.refresh-token"), GH,
              (Step(Request("POST", "/credentials/revoke",
                            (("Accept", "application/vnd.github+json"), ("X-GitHub-Api-Version", "2022-11-28")),
                            json={"credentials": ["{token}"]}), Shape((202,), text="")),),
              docs="https://docs.github.com/en/rest/credentials/revoke"),
    RevokeApi("github", ("github.server-to-server",), GH,
              (Step(Request("DELETE", "/installation/token", GH_HEADERS), Shape((204,), text="")),),
              docs="https://docs.github.com/en/rest/apps/installations#revoke-an-installation-access-token"),
    RevokeApi("gitlab", ("gitlab.pat", "gitlab.pat-routable"), "https://gitlab.com/api/v4",
              (Step(Request("DELETE", "/personal_access_tokens/self", (("PRIVATE-TOKEN", "{token}"),)),
                    Shape((204,), text="")),),
              docs="https://docs.gitlab.com/api/personal_access_tokens/#revoke-a-personal-access-token"),
    RevokeApi("gitlab", ("gitlab.runner-auth-token",), "https://gitlab.com/api/v4",
              (Step(Request("DELETE", "/runners", json={"token": "{token}"}), Shape((204,), text="")),),
              docs="https://docs.gitlab.com/api/runners/#delete-a-runner-by-authentication-token"),
)
