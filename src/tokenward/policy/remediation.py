"""Concrete rotate / revoke / re-scope steps per provider: the command or console page to use."""

from __future__ import annotations

from tokenward.policy.model import TokenView


def _detail(t: TokenView, name: str) -> str | None:
    return next((v for r in t.records for k, v in r.details if k == name and v), None)


def _ext(t: TokenView, origin: str) -> str | None:
    return next((r.external_id for r in t.records if r.origin == origin), None)


def _aws(t: TokenView) -> str:
    key = next((v for r in t.records for k, v in r.public_ids if k == "id"), None) or "<ACCESS_KEY_ID>"
    ext = _ext(t, "aws")
    user = ext.split(":", 1)[1].rsplit("#", 1)[0] if ext else "<USER>"
    if user == "<root_account>" or t.kind == "root-access-key":
        return ("delete the root account's access keys: sign in as root → IAM → Security credentials → Access keys "
                "→ Delete; use an IAM role or a least-privilege IAM user instead")
    return (f"aws iam create-access-key --user-name {user}; update its consumers; then "
            f"aws iam update-access-key --user-name {user} --access-key-id {key} --status Inactive && "
            f"aws iam delete-access-key --user-name {user} --access-key-id {key}")


def _github(t: TokenView) -> str:
    ext = _ext(t, "github") or ""
    if ext.startswith("github:fine-grained:"):
        grant = _detail(t, "grant_id") or "<PAT_ID>"
        return (f"gh api -X POST /orgs/<ORG>/personal-access-tokens/{grant} -f action=revoke (or the owner "
                "revokes it at https://github.com/settings/personal-access-tokens)")
    if ext.startswith("github:credential:"):
        cred = ext.rsplit(":", 1)[1]
        return (f"gh api -X DELETE /orgs/<ORG>/credential-authorizations/{cred}; the owner deletes the token at "
                "https://github.com/settings/tokens and creates a fine-grained one")
    return "revoke it at https://github.com/settings/tokens (owner) and replace it with a fine-grained token"


def _gitlab(t: TokenView) -> str:
    ext = _ext(t, "gitlab") or ""
    tid = ext.rsplit(":", 1)[1] if ext else "<ID>"
    if ":project-access-token:" in ext or ":group-access-token:" in ext:
        return (f"rotate: POST /api/v4/projects/<PROJECT>/access_tokens/{tid}/rotate (groups: /groups/<GROUP>/…); "
                f"revoke: DELETE the same path, or Settings → Access tokens → Revoke")
    return (f"rotate: POST /api/v4/personal_access_tokens/{tid}/rotate; revoke: DELETE "
            f"/api/v4/personal_access_tokens/{tid} (or User settings → Access tokens → Revoke)")


def _openbao(t: TokenView) -> str:
    accessor = _detail(t, "accessor")
    if accessor:
        return f"bao token revoke -accessor {accessor}"
    kv = next((r.location.split(":", 1)[1] for r in t.records if r.location and r.location.startswith("openbao:")),
              None)
    return (f"rotate the credential at its provider, then bao kv put {kv.split('#')[0]} …" if kv
            else "bao token revoke -accessor <ACCESSOR>")


STATIC = {
    "stripe": "roll the key: Stripe Dashboard → Developers → API keys → Roll key (prefer a restricted rk_ key)",
    "slack": "revoke with the auth.revoke API or app settings → OAuth & Permissions → Revoke tokens; reinstall",
    "npm": "npm token revoke <ID> (npm token list shows it), then npm token create --read-only if reads suffice",
    "openai": "delete the key at https://platform.openai.com/api-keys and create a project-scoped one",
    "google": "Google Cloud console → APIs & Services → Credentials → regenerate or delete the key; add API "
              "restrictions",
    "sendgrid": "SendGrid → Settings → API Keys → Delete; create one with Restricted Access",
}
PROVIDERS = {"aws": _aws, "github": _github, "gitlab": _gitlab, "openbao": _openbao}


def rotate_step(t: TokenView) -> str:
    """How to rotate or revoke this token at its provider."""
    if t.provider in PROVIDERS:
        return PROVIDERS[t.provider](t)
    if _detail(t, "accessor"):
        return _openbao(t)
    return STATIC.get(t.provider, f"rotate the {t.provider} credential in its console, update consumers from the "
                                  "secrets manager, then revoke the old one")
