"""The policy checks: one small function each, registered in CHECKS. Each yields Violations for one token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from tokenward.classify import PRIVILEGES, god_mode_scopes, scope_level
from tokenward.policy.model import SEVERITIES, TokenView, Violation
from tokenward.policy.remediation import rotate_step
from tokenward.policy.spec import CheckConfig


@dataclass(frozen=True)
class Context:
    """What every check may consult besides its token."""

    now: datetime


Check = Callable[[TokenView, CheckConfig, Context], Iterator[Violation]]
EXPIRING_PROVIDERS = frozenset({"github", "gitlab", "openbao"})


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "unknown"


def _where(t: TokenView, limit: int = 3) -> list[str]:
    out = []
    for p in t.places[:limit]:
        commit = f", commit {p.commit[:10]}" if p.commit else ""
        head = "" if p.in_head is None else (", still in HEAD" if p.in_head else ", history only")
        out.append(f"plaintext in {p.where}: {p.path}:{p.line}{commit}{head}")
    if len(t.places) > limit:
        out.append(f"… and {len(t.places) - limit} more places")
    return out


def severity_for(cfg: CheckConfig, t: TokenView, base: str | None = None) -> str:
    """The check's severity, lowered two steps for test/development tokens and to info for accepted risk."""
    severity = base or cfg.severity
    if t.status == "accepted-risk":
        return "info"
    if t.environment in ("test", "development") and cfg.id != "test-in-production":
        return SEVERITIES[min(SEVERITIES.index(severity) + 2, len(SEVERITIES) - 1)]
    return severity


def violation(t: TokenView, cfg: CheckConfig, title: str, evidence: list[str], remediation: str,
              severity: str | None = None) -> Violation:
    """A Violation of cfg by t, located at its first plaintext occurrence when it has one."""
    first = t.places[0] if t.places else None
    return Violation(cfg.id, severity_for(cfg, t, severity), t.key, t.label, t.provider,
                     t.owner.name if t.owner else None, title, tuple(evidence), remediation,
                     first.path if first else None, first.line if first else None)


def leaked_and_active(t: TokenView, cfg: CheckConfig, ctx: Context) -> Iterator[Violation]:
    """Found in plaintext and reported active by a provider or secrets manager."""
    if t.leaked and t.active:
        used = [f"last used {_day(t.last_used_at)}"] if t.last_used_at else []
        yield violation(t, cfg, f"Leaked and still active: {t.label}",
                        [*_where(t), f"reported active by {t.active_basis}", *used],
                        f"Revoke now, then replace: {rotate_step(t)}. Remove it from every place listed; the "
                        "history keeps it, so treat it as compromised and review its recent use.")


def leaked(t: TokenView, cfg: CheckConfig, ctx: Context) -> Iterator[Violation]:
    """Found in plaintext; whether it still works is not known (or it is reported inactive)."""
    if t.leaked and not t.active:
        if t.active is False:
            yield violation(t, cfg, f"Leaked, reported inactive: {t.label}",
                            [*_where(t), f"inactive according to {t.active_basis}"],
                            "Confirm it is revoked at the provider and remove it from the places listed.", "low")
            return
        yield violation(t, cfg, f"Leaked: {t.label}", [*_where(t), "no provider data says whether it is active"],
                        f"Treat it as compromised: {rotate_step(t)}; then remove it from the places listed.")


def unmapped_owner(t: TokenView, cfg: CheckConfig, ctx: Context) -> Iterator[Violation]:
    """Nobody owns it: no manifest entry, CODEOWNERS rule, provider owner or commit author."""
    if t.owner is None:
        yield violation(t, cfg, f"No owner: {t.label}", ["no manifest entry, CODEOWNERS rule or commit author"],
                        "Declare it in tokens.yaml with an owner (person or team), or add a CODEOWNERS rule "
                        "for the path it lives in.")


def undeclared(t: TokenView, cfg: CheckConfig, ctx: Context) -> Iterator[Violation]:
    """No declared service or function."""
    if not any(r.service or r.function for r in t.records):
        yield violation(t, cfg, f"No declared service or function: {t.label}",
                        [f"known from: {', '.join(t.origins)}"],
                        "Add a tokens.yaml entry naming the service that uses it and what for — or revoke it "
                        "if nobody claims it.")


def _excess(t: TokenView) -> list[str]:
    d = t.declared
    if d is None:
        return []
    if d.allowed_scopes is not None:
        return sorted(set(t.scopes) - set(d.allowed_scopes))
    if d.purpose in PRIVILEGES:
        limit = PRIVILEGES.index(d.purpose)
        return sorted(s for s in t.scopes if scope_level(t.provider, s) in PRIVILEGES
                      and PRIVILEGES.index(scope_level(t.provider, s)) > limit)
    return []


def _god_mode(t: TokenView) -> list[str]:
    out = [f"god-mode scope {s}" for s in god_mode_scopes(t.provider, t.scopes) if not s.startswith("policy:")]
    out += [f"wildcard/sudo policy {p}" for r in t.records for k, v in r.details if k == "wildcard_policies"
            for p in v.split(",") if p and p != "root"]
    if t.kind == "root-access-key":
        out.append("AWS root account access key")
    if not out and t.privilege == "admin" and (t.declared is None or t.declared.purpose != "admin"):
        out.append(f"full-access token ({t.privilege_basis})")
    return out


def over_scoped(t: TokenView, cfg: CheckConfig, ctx: Context) -> Iterator[Violation]:
    """Granted more than the declared purpose needs, god-mode access, or scopes never used."""
    excess, god = _excess(t), _god_mode(t)
    unused = sorted(set(t.scopes) - t.used_scopes) if t.used_scopes is not None and t.scopes else []
    if not (excess or god or unused):
        return
    d = t.declared
    need = f"declared purpose {d.purpose or '-'}, allowed {', '.join(d.allowed_scopes or ()) or '-'}" if d else \
        "no declared purpose"
    evidence = [f"granted: {', '.join(t.scopes) or t.privilege or '-'}", need, *god]
    if unused:
        evidence.append(f"never used (usage monitoring): {', '.join(unused)}")
    drop = excess or unused
    fix = f"Drop {', '.join(drop)}" if drop else "Replace it with a token limited to what the service needs"
    yield violation(t, cfg, f"Over-scoped: {t.label}", evidence,
                    f"{fix}: create a narrower token, switch consumers, revoke this one ({rotate_step(t)}).")


def _max_age(t: TokenView, cfg: CheckConfig) -> int:
    declared = t.declared.max_age_days if t.declared else None
    ages = cfg.params["max_age_days"]
    return declared or int(ages.get(t.privilege or "unknown", ages.get("unknown", 90)))


def rotation_overdue(t: TokenView, cfg: CheckConfig, ctx: Context) -> Iterator[Violation]:
    """Older than the max age for its privilege level (or its declared max age)."""
    if t.age_days is None or t.active is False:
        return
    limit = _max_age(t, cfg)
    if t.age_days > limit:
        since = "created" if t.created_at else "first seen"
        yield violation(t, cfg, f"Rotation overdue: {t.label} is {t.age_days} days old",
                        [f"{since} {_day(t.created_at or t.first_seen)}", f"max age {limit} days "
                         f"({'declared' if t.declared and t.declared.max_age_days else (t.privilege or 'unknown')})"],
                        f"Rotate: {rotate_step(t)}.")


def long_lived(t: TokenView, cfg: CheckConfig, ctx: Context) -> Iterator[Violation]:
    """No expiry where the provider supports one, or a lifetime over the limit."""
    if t.active is False:
        return
    limit = int(cfg.params["max_lifetime_days"])
    start = t.created_at or t.first_seen
    if t.expires_at is not None:
        if start is not None and t.expires_at - start > timedelta(days=limit):
            yield violation(t, cfg, f"Long-lived: {t.label} expires {_day(t.expires_at)}",
                            [f"lifetime {(t.expires_at - start).days} days > {limit}"],
                            f"Re-issue it with an expiry within {limit} days.")
        return
    if (t.provider in EXPIRING_PROVIDERS and t.active) or (t.age_days or 0) > limit:
        age = f"{t.age_days} days old" if t.age_days is not None else "age unknown"
        yield violation(t, cfg, f"No expiry: {t.label}", [f"no expiry date; {age}"],
                        f"Re-issue it with an expiry (at most {limit} days) and rotate before it: {rotate_step(t)}.")


def dormant(t: TokenView, cfg: CheckConfig, ctx: Context) -> Iterator[Violation]:
    """Active but unused for N days (or never used since creation N days ago): revoke it."""
    days = int(cfg.params["days"])
    if not t.active:
        return
    last = t.last_used_at
    cutoff = ctx.now - timedelta(days=days)
    if last is not None and last < cutoff:
        evidence = [f"last used {_day(last)} ({(ctx.now - last).days} days ago)"]
    elif last is None and t.created_at is not None and t.created_at < cutoff:
        evidence = [f"never used since it was created {_day(t.created_at)}"]
    else:
        return
    yield violation(t, cfg, f"Dormant: {t.label}", evidence, f"Revoke it: {rotate_step(t)}.")


def wrong_storage(t: TokenView, cfg: CheckConfig, ctx: Context) -> Iterator[Violation]:
    """Plaintext in a repository, env file, CI log, chat, ticket or notes; or a declared non-manager storage."""
    bad = [p for p in t.places if p.where in cfg.params["plaintext_places"]]
    prefixes = tuple(cfg.params["managed_prefixes"])
    d = t.declared
    declared_bad = d is not None and (not d.storage or not d.storage.startswith(prefixes))
    if not bad and not declared_bad:
        return
    evidence = _where(t) if bad else []
    if d is not None and declared_bad:
        evidence.append(f"declared storage: {d.storage or 'none'} (not a secrets-manager reference)")
    target = next((s for s in t.storage if s.startswith(prefixes)), None) or "a secrets manager (e.g. openbao:…)"
    yield violation(t, cfg, f"Stored in the wrong place: {t.label}", evidence,
                    f"Move it to {target}, reference it from there (env injection or CSI), delete the plaintext "
                    f"copies, and rotate it since they exposed it: {rotate_step(t)}.")


def reused(t: TokenView, cfg: CheckConfig, ctx: Context) -> Iterator[Violation]:
    """One token shared by several services or environments."""
    envs = [e for e in t.environments if e != "development"]
    if len(t.services) < 2 and len(envs) < 2:
        return
    evidence = [f"services: {', '.join(t.services)}"] if len(t.services) > 1 else []
    evidence += [f"environments: {', '.join(envs)}"] if len(envs) > 1 else []
    evidence += [f"stored at: {', '.join(t.storage)}"] if t.storage else []
    yield violation(t, cfg, f"Reused across {'services' if len(t.services) > 1 else 'environments'}: {t.label}",
                    evidence, "Issue one token per service and environment, then revoke the shared one: "
                    f"{rotate_step(t)}.")


def test_in_production(t: TokenView, cfg: CheckConfig, ctx: Context) -> Iterator[Violation]:
    """A test or sandbox token in production configuration."""
    if t.environment == "test" and "production" in t.environments:
        places = [p.path for p in t.places if "prod" in p.path.lower()] + [s for s in t.storage if "prod" in s]
        yield violation(t, cfg, f"Test token in production: {t.label}",
                        [f"test-mode token ({t.kind})", f"configured for production: {', '.join(places) or '-'}"],
                        "Put the live credential for production in the secrets manager and keep test keys out of "
                        "production configuration.")


CHECKS: dict[str, Check] = {
    "leaked-and-active": leaked_and_active,
    "leaked": leaked,
    "unmapped-owner": unmapped_owner,
    "undeclared": undeclared,
    "over-scoped": over_scoped,
    "rotation-overdue": rotation_overdue,
    "long-lived": long_lived,
    "dormant": dormant,
    "wrong-storage": wrong_storage,
    "reused": reused,
    "test-in-production": test_in_production,
}
