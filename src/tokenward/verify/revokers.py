"""Revocation through providers' documented "revoke this token" endpoints, described as data.

Each entry names the request(s) and the documented success answer; a later step may use a value the
first one returned (Cloudflare's token id, Mapbox's user and token id, Twitch's client id).
"""

from __future__ import annotations

from tokenward.verify.api import BEARER, Request, RevokeApi, Shape, Step, header
from tokenward.verify.interface import Credential

EMPTY_OK = Shape((200,), text="")  # a documented 200 whose body carries nothing to check
NO_CONTENT = Shape((204,), text="")


def one(provider: str, rules: tuple[str, ...], base: str, request: Request, done: Shape, docs: str, **kw: object
        ) -> RevokeApi:
    """A one-request revoker; kinds without a dot are taken as the provider's ("pat" → "vercel.pat")."""
    rule_ids = tuple(r if "." in r else f"{provider}.{r}" for r in rules)
    return RevokeApi(provider, rule_ids, base, (Step(request, done),), docs=docs, **kw)  # type: ignore[arg-type]


def _sendgrid_id(cred: Credential) -> dict[str, str]:
    """SG.<key id>.<secret>: the key id is the middle part."""
    parts = cred.secret.split(".")
    return {"key_id": parts[1] if len(parts) == 3 else ""}


def _tailscale_id(cred: Credential) -> dict[str, str]:
    """tskey-api-<key id>-<secret>."""
    parts = cred.secret.split("-")
    return {"key_id": parts[2] if len(parts) >= 4 else ""}


def _twitch(cred: Credential) -> dict[str, str]:
    return {"bare": cred.secret.removeprefix("oauth:")}


REVOKERS: tuple[RevokeApi, ...] = (
    one("doppler", ("personal-token", "service-token", "service-account-token", "cli-token"), "https://api.doppler.com",
        Request("POST", "/v3/auth/revoke", BEARER, json={"token": "{token}"}),
        Shape((200,), equals=(("success", True),)),
        "https://docs.doppler.com/reference/auth-revoke"),
    one("vercel", ("pat", "integration-token", "app-access-token", "api-key", "token-legacy"), "https://api.vercel.com",
        Request("DELETE", "/v3/user/tokens/current", BEARER), Shape((200,), ("tokenId",)),
        "https://vercel.com/docs/rest-api/reference/endpoints/authentication/delete-an-authentication-token"),
    one("sendgrid", ("api-key",), "https://api.sendgrid.com", Request("DELETE", "/v3/api_keys/{key_id}", BEARER),
        NO_CONTENT, "https://www.twilio.com/docs/sendgrid/api-reference/api-keys/delete-api-keys",
        derive=_sendgrid_id),
    RevokeApi("cloudflare", ("cloudflare.user-api-token", "cloudflare.api-token-legacy"), "https://api.cloudflare.com",
              (Step(Request("GET", "/client/v4/user/tokens/verify", BEARER), Shape((200,), ("result.id",)),
                    capture=(("cf_token_id", "result.id"),)),
               Step(Request("DELETE", "/client/v4/user/tokens/{cf_token_id}", BEARER),
                    Shape((200,), equals=(("success", True),)))),
              docs="https://developers.cloudflare.com/api/resources/user/subresources/tokens/methods/delete/"),
    one("tailscale", ("key",), "https://api.tailscale.com",
        Request("DELETE", "/api/v2/tailnet/-/keys/{key_id}", BEARER),
        EMPTY_OK, "https://tailscale.com/api#tag/keys/DELETE/tailnet/{tailnet}/keys/{keyId}", derive=_tailscale_id,
        only=("tskey-api-",)),
    RevokeApi("mapbox", ("mapbox.secret-token",), "https://api.mapbox.com",
              (Step(Request("GET", "/tokens/v2", params=(("access_token", "{token}"),)),
                    Shape((200,), ("token.user", "token.authorization")),
                    capture=(("user", "token.user"), ("mb_token_id", "token.authorization"))),
               Step(Request("DELETE", "/tokens/v2/{user}/{mb_token_id}", params=(("access_token", "{token}"),)),
                    NO_CONTENT)),
              docs="https://docs.mapbox.com/api/accounts/tokens/#delete-a-token"),
    one("buildkite", ("api-token",), "https://api.buildkite.com", Request("DELETE", "/v2/access-token", BEARER),
        NO_CONTENT, "https://buildkite.com/docs/apis/rest-api/access-token#revoke-the-current-token"),
    one("fastly", ("api-token",), "https://api.fastly.com", Request("DELETE", "/tokens/self", header("Fastly-Key")),
        NO_CONTENT, "https://www.fastly.com/documentation/reference/api/auth-tokens/user/#revoke-token-current"),
    one("google", ("oauth-access-token", "oauth-refresh-token"), "https://oauth2.googleapis.com",
        Request("POST", "/revoke", form=(("token", "{token}"),)), EMPTY_OK,
        "https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke"),
    one("dropbox", ("short-lived-token", "long-lived-token"), "https://api.dropboxapi.com",
        Request("POST", "/2/auth/token/revoke", BEARER), EMPTY_OK,
        "https://www.dropbox.com/developers/documentation/http/documentation#auth-token-revoke"),
    one("discord", ("webhook",), "https://discord.com/api/v10", Request("DELETE", "/webhooks/{id}/{token}"),
        NO_CONTENT, "https://discord.com/developers/docs/resources/webhook#delete-webhook-with-token", needs=("id",)),
    RevokeApi("twitch", ("twitch.access-token", "twitch.chat-oauth-token"), "https://id.twitch.tv",
              (Step(Request("GET", "/oauth2/validate", header("Authorization", "OAuth {bare}")),
                    Shape((200,), ("client_id",)), capture=(("client_id", "client_id"),)),
               Step(Request("POST", "/oauth2/revoke", form=(("client_id", "{client_id}"), ("token", "{bare}"))),
                    EMPTY_OK)),
              derive=_twitch, docs="https://dev.twitch.tv/docs/authentication/revoke-tokens/"),
    one("line", ("channel-access-token",), "https://api.line.me",
        Request("POST", "/v2/oauth/revoke", form=(("access_token", "{token}"),)), EMPTY_OK,
        "https://developers.line.biz/en/reference/messaging-api/#revoke-longlived-or-shortlived-channel-access-token"),
    one("sourcegraph", ("access-token", "access-token-legacy"), "https://sourcegraph.com",
        Request("POST", "/.api/graphql", header("Authorization", "token {token}"),
                json={"query": 'mutation { deleteAccessToken(byToken: "{token}") { alwaysNil } }'}),
        Shape((200,), ("data.deleteAccessToken",)), "https://sourcegraph.com/docs/api/graphql"),
    one("facebook", ("access-token",), "https://graph.facebook.com",
        Request("DELETE", "/me/permissions", params=(("access_token", "{token}"),)),
        Shape((200,), equals=(("success", True),)),
        "https://developers.facebook.com/docs/facebook-login/guides/permissions/request-revoke#revoking"),
    one("perplexity", ("api-key",), "https://api.perplexity.ai",
        Request("POST", "/revoke_auth_token", BEARER, json={"auth_token": "{token}"}), EMPTY_OK,
        "https://docs.perplexity.ai/api-reference/revoke-auth-token-post"),
    one("digitalocean", ("oauth-token",), "https://cloud.digitalocean.com",
        Request("POST", "/v1/oauth/revoke", BEARER, form=(("token", "{token}"),)), EMPTY_OK,
        "https://docs.digitalocean.com/reference/api/oauth/#revoke-a-token"),
)
