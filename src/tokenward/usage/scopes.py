"""Least privilege from observed use: the minimal scopes (or IAM actions, or Vault policy) a token needs."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# GitHub classic scopes: (pattern over the observed action, scope). First match wins.
GITHUB_RULES: tuple[tuple[str, str], ...] = (
    (r"^repo\.destroy$|^DELETE /repos/:id/:id$", "delete_repo"),
    (r"^(org_)?hook\.|^(POST|PATCH|PUT|DELETE) /repos/.+/hooks", "admin:repo_hook"),
    (r"^GET /repos/.+/hooks", "read:repo_hook"),
    (r"^(workflows|actions)\.|^(POST|PUT|PATCH|DELETE) /repos/.+/actions/workflows|/contents/\.github/workflows",
     "workflow"),
    (r"^packages?\.(package_version_)?(published|upload|delete)|^(PUT|POST|DELETE) /.*packages", "write:packages"),
    (r"^packages?\.|^GET /.*packages", "read:packages"),
    (r"^(org|team|business|members_can)\.|^(POST|PUT|PATCH|DELETE) /(orgs|teams)/", "admin:org"),
    (r"^GET /(orgs|teams)/", "read:org"),
    (r"^public_key\.|^(POST|DELETE) /user/keys", "admin:public_key"),
    (r"^GET /user/keys", "read:public_key"),
    (r"^gpg_key\.|^(POST|DELETE) /user/gpg_keys", "admin:gpg_key"),
    (r"^gist\.|/gists", "gist"),
    (r"^GET /notifications|^notification", "notifications"),
    (r"^GET /user/emails", "user:email"),
    (r"^GET /user$|^GET /users/", "read:user"),
    (r"^user\.|^(PATCH|POST|PUT|DELETE) /user", "user"),
    (r"^project\.|/projects", "project"),
    (r"^codespaces\.|/codespaces", "codespace"),
    (r"^(git|repo|protected_branch|pull_request|issue|issues|repository_|deploy_key|environment)[._]|/repos/",
     "repo"),
)
GITHUB_IMPLIES = {"repo": {"repo:status", "repo_deployment", "public_repo", "repo:invite", "security_events"},
                  "admin:org": {"write:org", "read:org"}, "write:org": {"read:org"},
                  "admin:repo_hook": {"write:repo_hook", "read:repo_hook"}, "write:repo_hook": {"read:repo_hook"},
                  "admin:public_key": {"write:public_key", "read:public_key"}, "write:public_key": {"read:public_key"},
                  "admin:gpg_key": {"write:gpg_key", "read:gpg_key"}, "write:gpg_key": {"read:gpg_key"},
                  "write:packages": {"read:packages"}, "user": {"read:user", "user:email", "user:follow"},
                  "project": {"read:project"}}
GITLAB_RULES: tuple[tuple[str, str], ...] = (
    (r"git-receive-pack", "write_repository"),
    (r"git-upload-pack|/info/refs|\.git/", "read_repository"),
    (r"^(PUT|POST|PATCH|DELETE) /v2/", "write_registry"),
    (r"^(GET|HEAD) /v2/", "read_registry"),
    (r"^(GET|POST|PUT|DELETE) /api/v4/admin|sudo", "admin_mode"),
    (r"^GET /api/v4/user$", "read_user"),
    (r"^(GET|HEAD) /api/", "read_api"),
    (r"^(POST|PUT|PATCH|DELETE) /api/", "api"),
)
GITLAB_IMPLIES = {"api": {"read_api", "read_user", "read_repository", "write_repository", "read_registry",
                          "write_registry"}, "read_api": {"read_user", "read_repository", "read_registry"},
                  "write_repository": {"read_repository"}, "write_registry": {"read_registry"},
                  "sudo": {"api", "read_api", "read_user"}}
VAULT_CAPABILITIES = {"read": "read", "list": "list", "create": "create", "update": "update", "delete": "delete",
                      "patch": "patch"}


@dataclass(frozen=True)
class ScopeAdvice:
    """Observed use against granted rights, and the minimal set that would have sufficed."""

    token_id: str
    provider: str
    used: tuple[str, ...]  # observed actions in the window
    granted: tuple[str, ...]
    suggested: tuple[str, ...]  # the minimal scopes / IAM actions / Vault capabilities
    unused: tuple[str, ...]  # granted but not needed: remove these
    unmapped: tuple[str, ...] = ()  # actions no rule maps to a scope (review by hand)
    policy: str | None = None  # a ready-to-use IAM policy document or Vault policy

    @property
    def over_scoped(self) -> bool:
        """True when something granted was never needed (the review's over-scoped check)."""
        return bool(self.unused)


def _expand(scopes: Iterable[str], implies: dict[str, set[str]]) -> set[str]:
    out = set(scopes)
    changed = True
    while changed:
        more = set().union(*(implies.get(s, set()) for s in out)) - out
        out |= more
        changed = bool(more)
    return out


def minimal(scopes: Iterable[str], implies: dict[str, set[str]]) -> list[str]:
    """Drop scopes another scope in the set already implies."""
    wanted = set(scopes)
    return sorted(s for s in wanted if not any(s in _expand([o], implies) - {o} for o in wanted if o != s))


def _map(actions: Sequence[str], rules: tuple[tuple[str, str], ...]) -> tuple[set[str], list[str]]:
    compiled = [(re.compile(p), scope) for p, scope in rules]
    scopes, unmapped = set(), []
    for act in actions:
        scope = next((s for rx, s in compiled if rx.search(act)), None)
        if scope is None:
            unmapped.append(act)
        else:
            scopes.add(scope)
    return scopes, unmapped


def _scoped(token_id: str, provider: str, used: Sequence[str], granted: Sequence[str],
            rules: tuple[tuple[str, str], ...], implies: dict[str, set[str]]) -> ScopeAdvice:
    scopes, unmapped = _map(used, rules)
    suggested = minimal(scopes, implies)
    unused = [g for g in granted if g not in suggested]  # broader or unrelated: replace with the suggestion
    return ScopeAdvice(token_id, provider, tuple(used), tuple(granted), tuple(suggested), tuple(sorted(unused)),
                       tuple(unmapped))


def github(token_id: str, used: Sequence[str], granted: Sequence[str]) -> ScopeAdvice:
    """GitHub classic scopes from audit-log actions or REST routes."""
    return _scoped(token_id, "github", used, granted, GITHUB_RULES, GITHUB_IMPLIES)


def gitlab(token_id: str, used: Sequence[str], granted: Sequence[str]) -> ScopeAdvice:
    """GitLab token scopes from API routes and git/registry requests."""
    return _scoped(token_id, "gitlab", used, granted, GITLAB_RULES, GITLAB_IMPLIES)


def aws(token_id: str, used: Sequence[str], granted: Sequence[str]) -> ScopeAdvice:
    """IAM actions from CloudTrail eventSource/eventName; granted may hold wildcards (s3:*, *)."""
    actions = sorted({a for a in used if re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", a)})
    unused = [g for g in granted if not any(fnmatch.fnmatchcase(a.lower(), g.lower()) for a in actions)]
    broad = [g for g in granted if "*" in g and g not in unused]  # wildcards used in part: narrow them
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": "*"}]}, indent=2)
    return ScopeAdvice(token_id, "aws", tuple(used), tuple(granted), tuple(actions), tuple(sorted(unused + broad)),
                       tuple(a for a in used if a not in actions), policy)


def vault(token_id: str, used: Sequence[str], granted: Sequence[str]) -> ScopeAdvice:
    """A Vault/OpenBao policy with the capabilities each path was used with ('operation path' actions)."""
    paths: dict[str, set[str]] = {}
    unmapped = []
    for act in used:
        op, _, path = act.partition(" ")
        if op in VAULT_CAPABILITIES and path:
            paths.setdefault(path, set()).add(VAULT_CAPABILITIES[op])
        else:
            unmapped.append(act)
    policy = "\n".join(f'path "{p}" {{\n  capabilities = {json.dumps(sorted(c))}\n}}' for p, c in sorted(paths.items()))
    suggested = tuple(f"{p}:{','.join(sorted(c))}" for p, c in sorted(paths.items()))
    unused = tuple(g for g in granted if ":" in g and g not in suggested)  # policy names cannot be compared
    return ScopeAdvice(token_id, "vault", tuple(used), tuple(granted), suggested, unused, tuple(unmapped),
                       policy + "\n" if policy else None)


ADVISORS: dict[str, Callable[[str, Sequence[str], Sequence[str]], ScopeAdvice]] = {
    "github": github, "gitlab": gitlab, "aws": aws, "vault": vault,
}
PROVIDER_ALIASES = {"hashicorp": "vault", "openbao": "vault"}


def guess_provider(provider: str, used: Sequence[str]) -> str:
    """The advisor for a token: its inventory provider, else what its actions look like."""
    provider = PROVIDER_ALIASES.get(provider, provider)
    if provider in ADVISORS:
        return provider
    if any("/api/v4/" in a or ".git/" in a for a in used):
        return "gitlab"
    if used and all(re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", a) for a in used):
        return "aws"
    return "github"


def advise(token_id: str, provider: str, used: Sequence[str], granted: Sequence[str]) -> ScopeAdvice:
    """Least-privilege advice for one token."""
    return ADVISORS[guess_provider(provider, used)](token_id, sorted(used), sorted(granted))


def observed_actions(profile: dict[str, Any], days: float | None = None) -> list[str]:
    """Actions a stored baseline saw succeed (a denied-only action was never needed), last `days` of use."""
    cutoff = profile.get("last_at", 0.0) - days * 86400 if days else float("-inf")
    denied = {k: v for k, v in profile.get("denied_actions", [])}
    return sorted(str(a) for a, (n, last) in profile.get("actions", []) if a is not None and a != "*other*"
                  and last >= cutoff and denied.get(a, 0) < n)


def advise_stored(token_id: str, provider: str, profile: dict[str, Any], granted: Sequence[str] = (),
                  days: float | None = None) -> ScopeAdvice:
    """Advice from a baseline as usage.state stores it (what the review's over-scoped check calls).

    granted defaults to the scopes the logs reported for the token (GitHub token_scopes, Vault policies).
    """
    grant = list(granted) or [g.strip() for g in (profile.get("scopes") or "").split(",") if g.strip()]
    return advise(token_id, provider, observed_actions(profile, days), grant)
