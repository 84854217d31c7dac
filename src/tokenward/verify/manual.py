"""The manual revocation steps for tokens whose provider offers no revocation API (or none tokenward uses)."""

from __future__ import annotations

from tokenward.policy.remediation import STATIC

MANUAL = {
    "stripe": "Stripe has no API to revoke a secret key: Dashboard → Developers → API keys → ⋯ → Roll key "
              "(expire the old one now), then update its consumers",
    "openai": "delete the key at https://platform.openai.com/api-keys (or an admin key: DELETE "
              "/v1/organization/projects/<PROJECT>/api_keys/<KEY_ID>)",
    "anthropic": "disable the key at https://console.anthropic.com/settings/keys (or an admin key: POST "
                 "/v1/organizations/api_keys/<KEY_ID> {\"status\": \"inactive\"})",
    "npm": "npm token list (find it by its first characters), then npm token revoke <ID>",
    "pypi": "delete the token at https://pypi.org/manage/account/token/ (PyPI has no token API)",
    "docker": "Docker Hub → Account settings → Personal access tokens → Delete",
    "huggingface": "https://huggingface.co/settings/tokens → Invalidate and refresh",
    "twilio": "Twilio Console → Account → API keys & tokens: delete the API key, or promote a secondary auth "
              "token to rotate the account's auth token",
    "datadog": "Organization settings → API keys (or Application keys) → Revoke",
    "heroku": "heroku authorizations:revoke <ID> (heroku authorizations lists them)",
    "gitlab": "User settings → Access tokens → Revoke (deploy, trigger and runner registration tokens: the "
              "project's or group's CI/CD settings)",
    "slack": "app settings → OAuth & Permissions → Revoke all tokens, or Regenerate the signing secret/webhook",
    "vault": "bao token revoke -accessor <ACCESSOR> (bao token lookup -accessor shows it)",
    "aws": "aws iam update-access-key --access-key-id <KEY_ID> --status Inactive --user-name <USER>, then "
           "aws iam delete-access-key … once nothing uses it",
}


def manual_steps(provider: str, kind: str) -> str:
    """What to do by hand for this provider's token."""
    return MANUAL.get(provider) or STATIC.get(provider) or (
        f"revoke the {provider} {kind} in the {provider} console (its API/security settings), update its "
        "consumers from the secrets manager, then `tokenward triage TOKEN_ID --status revoked`")
