"""Anomaly detectors: each looks at one event against the token's baseline as it was before that event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tokenward.usage.agents import Agent
from tokenward.usage.baseline import (
    ALWAYS,
    BUCKET,
    ERRORS,
    FLIP,
    GAP,
    NEW_ACTION,
    NEW_AGENT,
    NEW_HOUR,
    NEW_IP,
    RATE,
    Profile,
    counts,
    hour_of_week,
)
from tokenward.usage.events import UsageEvent, iso
from tokenward.usage.geo import Geo, GeoPlace, distance_km, prefix

DAY = 86400.0
SEVERITIES = ("critical", "high", "medium", "low")
SENSITIVE_ACTIONS = frozenset({
    "iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
    "iam:AttachUserPolicy", "iam:AttachRolePolicy", "iam:PutUserPolicy", "iam:PutRolePolicy",
    "iam:UpdateAssumeRolePolicy", "iam:CreateRole", "iam:AddUserToGroup", "iam:DeleteUserPolicy",
    "sts:GetFederationToken", "s3:PutBucketPolicy", "s3:PutBucketAcl", "s3:DeletePublicAccessBlock",
    "s3:PutBucketPublicAccessBlock", "ec2:AuthorizeSecurityGroupIngress", "ec2:CreateKeyPair",
    "ec2:ModifyInstanceAttribute", "kms:ScheduleKeyDeletion", "kms:DisableKey", "secretsmanager:GetSecretValue",
    "ssm:GetParameters", "ssm:GetParameter", "cloudtrail:StopLogging", "cloudtrail:DeleteTrail",
    "cloudtrail:UpdateTrail", "guardduty:DeleteDetector", "organizations:LeaveOrganization",
    "lambda:CreateFunction", "lambda:UpdateFunctionCode",
    "repo.destroy", "repo.access", "repo.transfer", "org.add_member", "org.update_member", "org.remove_member",
    "protected_branch.destroy", "protected_branch.policy_override", "hook.create", "deploy_key.create",
    "public_key.create", "personal_access_token.request_created", "repository_secret_scanning.disable",
    "secret_scanning.disable", "org.disable_two_factor_requirement", "business.set_actions_retention_limit",
    "integration_installation.create", "org_credential_authorization.grant", "repo.download_zip",
})
SENSITIVE_WORDS = ("sys/", "auth/token/create", "/admin", "DELETE /", "/keys", "/secrets", "/members")


@dataclass(frozen=True)
class TokenInfo:
    """What the inventory says about the token an event used."""

    token_id: str
    provider: str
    preview: str
    public_id: str | None = None
    owner: str | None = None
    status: str = "open"
    status_changed_at: float | None = None
    honeytoken: bool = False
    declared: bool = True

    @property
    def flagged(self) -> bool:
        """True when every use of the token must be looked at (revoked, rotated, honeytoken)."""
        return self.honeytoken or self.status in ("revoked", "rotated")


@dataclass(frozen=True)
class DetectSettings:
    """Detector parameters (seconds unless named otherwise)."""

    grace_seconds: float = 3600.0
    stable_seconds: float = 14 * DAY
    stable_prefixes: int = 4
    stable_agents: int = 3
    max_asns: int = 8
    travel_kmh: float = 1000.0
    travel_min_km: float = 500.0
    off_hours_min_events: int = 500
    off_hours_max_active: int = 100
    endpoint_min_events: int = 1000


@dataclass(frozen=True)
class Anomaly:
    """One detector's verdict on one event: what was expected, what was seen."""

    detector: str
    severity: str
    key: str  # dedup key within (token, detector)
    expected: str
    observed: str
    throttle: float  # seconds between alerts with the same key; 0: once for ever


class Scene:
    """One event under inspection, with lazily looked-up place and agent."""

    __slots__ = ("_agent", "_place", "agents", "ev", "geo", "settings", "token", "trig")

    def __init__(self, ev: UsageEvent, token: TokenInfo, trig: int, geo: Geo, agent: Agent | None,
                 settings: DetectSettings) -> None:
        self.ev, self.token, self.trig, self.geo, self.settings = ev, token, trig, geo, settings
        self._agent = agent
        self._place: GeoPlace | None = None

    @property
    def place(self) -> GeoPlace:
        """Where the event's address is."""
        if self._place is None:
            self._place = self.geo.place(self.ev.ip) if self.ev.ip else GeoPlace()
        return self._place

    @property
    def agent(self) -> Agent:
        """The event's user agent family."""
        assert self._agent is not None
        return self._agent


@dataclass(frozen=True)
class Detector:
    """A named check, the trigger bits that wake it, its severity, and whether it waits out learning."""

    name: str
    severity: str
    triggers: int
    gated: bool
    check: Callable[[Profile, Scene], Anomaly | None]
    description: str


def _top(table: dict[Any, Any], n: int = 5) -> str:
    items = sorted(counts(table).items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(k for k, _ in items) + (f" (+{len(table) - n})" if len(table) > n else "") or "nothing yet"


def new_country(p: Profile, s: Scene) -> Anomaly | None:
    """A request from a country this token was never used from."""
    cc = s.place.country
    if not cc or cc in p.countries or not p.countries:
        return None
    return Anomaly("new-country", "high", cc, f"countries {_top(p.countries)}", f"{cc} from {s.ev.ip}", 0)


def new_asn(p: Profile, s: Scene) -> Anomaly | None:
    """A request from a network (ASN) this token was never used from (MaxMind ASN database)."""
    asn = s.place.asn
    if asn is None or str(asn) in p.asns or not p.asns or len(p.asns) > s.settings.max_asns:
        return None
    return Anomaly("new-asn", "medium", str(asn), f"networks AS{', AS'.join(sorted(p.asns))}",
                   f"AS{asn} {s.place.asn_org or ''} from {s.ev.ip}".strip(), 0)


def new_ip_range(p: Profile, s: Scene) -> Anomaly | None:
    """A new /24 (/64) for a token that has kept to a few networks for weeks."""
    net = prefix(s.ev.ip or "")
    stable = s.ev.at - p.prefix_new_at > s.settings.stable_seconds
    if net in p.prefixes or not stable or len(p.prefixes) > s.settings.stable_prefixes:
        return None
    return Anomaly("new-ip-range", "medium", net, f"networks {_top(p.prefixes)} (unchanged since "
                   f"{iso(p.prefix_new_at)})", f"{s.ev.ip} in {net}", 0)


def bad_agent(p: Profile, s: Scene) -> Anomaly | None:
    """A scanner, attack tool or penetration-testing distribution in the user agent."""
    a = s.agent
    if not a.bad:
        return None
    return Anomaly("bad-agent", "high", a.family, f"agents {_top(p.agents)}",
                   f"{a.kind} agent {a.family}: {(s.ev.agent or '')[:120]}", 0)


def new_agent(p: Profile, s: Scene) -> Anomaly | None:
    """A library or tool this token never used, after weeks with the same few agents."""
    a = s.agent
    if a.bad or a.family in p.agents or len(p.agents) > s.settings.stable_agents:
        return None
    if s.ev.at - p.agent_new_at < s.settings.stable_seconds:
        return None
    return Anomaly("new-agent", "low", a.family, f"agents {_top(p.agents)}", f"{a.kind} {a.family}", 0)


def is_sensitive(action: str) -> bool:
    """True for actions an attacker takes first: credentials, policies, audit trails, members."""
    return action in SENSITIVE_ACTIONS or any(w in action for w in SENSITIVE_WORDS)


def sensitive_action(p: Profile, s: Scene) -> Anomaly | None:
    """The first time this token performs a sensitive action (IAM, policies, audit, members, deletion)."""
    act = s.ev.action
    if not act or act in p.actions or not is_sensitive(act):
        return None
    return Anomaly("sensitive-action", "high", act, f"{len(p.actions)} known actions: {_top(_str_keys(p.actions))}",
                   f"first {act}" + (f" ({s.ev.status})" if s.ev.status >= 400 else ""), 0)


def _str_keys(actions: dict[str | None, list[Any]]) -> dict[str, int]:
    return counts(actions)


def new_endpoint(p: Profile, s: Scene) -> Anomaly | None:
    """A new endpoint for a token whose set of endpoints has not changed for weeks."""
    act = s.ev.action
    if not act or act in p.actions or is_sensitive(act) or p.events < s.settings.endpoint_min_events:
        return None
    if s.ev.at - p.action_new_at < s.settings.stable_seconds:
        return None
    return Anomaly("new-endpoint", "low", act, f"{len(p.actions)} known actions: {_top(_str_keys(p.actions))}",
                   act, 0)


def rate_spike(p: Profile, s: Scene) -> Anomaly | None:
    """More requests in a 10-minute bucket than the token's robust peak allows."""
    return Anomaly("rate-spike", "high", "rate", f"≤ {p.thr - 1} requests per {BUCKET // 60} min (mean "
                   f"{p.mean:.1f}, deviation {p.dev:.1f}, peak {p.peak:.0f})", f"{p.n} requests since "
                   f"{iso(p.bucket * BUCKET)}", 3600)


def error_burst(p: Profile, s: Scene) -> Anomaly | None:
    """A burst of 401/403 answers: someone probing what the token may do."""
    return Anomaly("error-burst", "high", "denied", f"≤ {p.denied_thr - 1} denied requests per {BUCKET // 60} "
                   f"min (peak {p.denied_peak:.0f})", f"{p.nden} denied since {iso(p.bucket * BUCKET)}", 3600)


def off_hours(p: Profile, s: Scene) -> Anomaly | None:
    """Use in an hour of the week this token has never been active in, for a token with clear habits."""
    st = s.settings
    h = hour_of_week(s.ev.at)
    active = sum(1 for c in p.how if c)
    if p.events < st.off_hours_min_events or active > st.off_hours_max_active:
        return None
    if p.how[h] or p.how[(h - 1) % 168] or p.how[(h + 1) % 168]:
        return None
    day = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][h // 24]
    return Anomaly("off-hours", "low", f"{int(s.ev.at // DAY)}", f"active {active} of 168 hours of the week",
                   f"use on {day} {h % 24:02d}:00-{h % 24 + 1:02d}:00 UTC", DAY)


def impossible_travel(p: Profile, s: Scene) -> Anomaly | None:
    """Two uses further apart than an airliner could fly between them (needs a city database)."""
    if not s.geo.has_city or p.last_ip is None or p.last_ip == s.ev.ip or p.last_ip not in p.ips:
        return None
    before = s.geo.place(p.last_ip)
    km = distance_km(before, s.place)
    hours = max(s.ev.at - p.prev_at, 1.0) / 3600
    if km is None or km < s.settings.travel_min_km or km / hours < s.settings.travel_kmh:
        return None
    return Anomaly("impossible-travel", "high", f"{before.city}->{s.place.city}",
                   f"{p.last_ip} ({before.city or before.country}) at {iso(p.prev_at)}",
                   f"{s.ev.ip} ({s.place.city or s.place.country}) {km:.0f} km away after {hours * 60:.0f} min", 3600)


def concurrent_countries(p: Profile, s: Scene) -> Anomaly | None:
    """Use alternating between two countries within minutes: two parties hold the token (never before)."""
    if p.flips > 1:
        return None  # this token is used from two countries at once as a habit
    return Anomaly("concurrent-countries", "high", "-".join(sorted((p.cc, p.other_cc))),
                   f"one location at a time (last {p.other_cc} at {iso(p.other_at)})",
                   f"{p.cc} and {p.other_cc} within {p.tuning.concurrent_seconds / 60:.0f} min", 3600)


def revoked_use(p: Profile, s: Scene) -> Anomaly | None:
    """Use of a token the inventory says was revoked or rotated, after the grace window."""
    t = s.token
    if t.status not in ("revoked", "rotated") or t.status_changed_at is None:
        return None
    if s.ev.at <= t.status_changed_at + s.settings.grace_seconds:
        return None
    return Anomaly("revoked-use", "critical", t.status, f"no use after {t.status} at {iso(t.status_changed_at)} "
                   f"(+{s.settings.grace_seconds / 3600:.1f} h grace)", f"{s.ev.action} from {s.ev.ip}", 3600)


def honeytoken(p: Profile, s: Scene) -> Anomaly | None:
    """Any use at all of a honeytoken."""
    if not s.token.honeytoken:
        return None
    return Anomaly("honeytoken", "critical", "use", "no use ever (honeytoken)", f"{s.ev.action} from {s.ev.ip} "
                   f"with {(s.ev.agent or 'no agent')[:80]}", 3600)


def dormant(p: Profile, s: Scene) -> Anomaly | None:
    """A token used again after a pause far longer than its own rhythm (see Profile.dormant)."""
    if p.events < 10:
        return None
    return Anomaly("dormant-reactivated", "medium", f"{int(s.ev.at // DAY)}", f"idle since {iso(s.ev.at - p.gap)} "
                   f"({_days(p.gap)}; dormant after {_days(p.dormant)} for this token)",
                   f"{s.ev.action} from {s.ev.ip}", 0)


def _days(seconds: float) -> str:
    return f"{seconds / DAY:.0f} days" if seconds >= 2 * DAY else f"{seconds / 3600:.1f} hours"


DETECTORS: dict[str, Detector] = {d.name: d for d in (
    Detector("new-country", "high", NEW_IP, True, new_country, "request from a new country"),
    Detector("new-asn", "medium", NEW_IP, True, new_asn, "request from a new network (ASN)"),
    Detector("new-ip-range", "medium", NEW_IP, True, new_ip_range, "new /24 or /64 for a stable token"),
    Detector("impossible-travel", "high", NEW_IP, True, impossible_travel, "faster than a plane between cities"),
    Detector("concurrent-countries", "high", FLIP, True, concurrent_countries, "two countries at once"),
    Detector("bad-agent", "high", NEW_AGENT, False, bad_agent, "scanner or pentest distribution"),
    Detector("new-agent", "low", NEW_AGENT, True, new_agent, "library or tool never used by this token"),
    Detector("sensitive-action", "high", NEW_ACTION, True, sensitive_action, "first-time sensitive action"),
    Detector("new-endpoint", "low", NEW_ACTION, True, new_endpoint, "new endpoint for a stable token"),
    Detector("rate-spike", "high", RATE, False, rate_spike, "request rate far above the baseline"),
    Detector("error-burst", "high", ERRORS, False, error_burst, "burst of 401/403: probing"),
    Detector("off-hours", "low", NEW_HOUR, True, off_hours, "use outside the token's usual hours"),
    Detector("revoked-use", "critical", ALWAYS, False, revoked_use, "use after revocation or rotation"),
    Detector("honeytoken", "critical", ALWAYS, False, honeytoken, "any use of a honeytoken"),
    Detector("dormant-reactivated", "medium", GAP, True, dormant, "dormant token suddenly active"),
)}


def woken(detectors: dict[str, Detector], trig: int) -> tuple[Detector, ...]:
    """The detectors that trigger bits trig wake, in registry order."""
    return tuple(d for d in detectors.values() if d.triggers & trig)


def detect(p: Profile, s: Scene, detectors: dict[str, Detector] | tuple[Detector, ...] = DETECTORS,
           held: set[str] | None = None) -> list[Anomaly]:
    """Findings of every detector the scene's trigger bits wake (gated ones stay quiet while learning; their
    names are added to held, so the run can say what the young baseline held back). detectors may be the
    ones already woken (see woken: the monitor keeps them per trigger bits)."""
    learning: bool | None = None
    found: list[Anomaly] = []
    for d in detectors.values() if isinstance(detectors, dict) else detectors:
        if not d.triggers & s.trig:
            continue
        if d.gated:
            if learning is None:
                learning = p.learning(s.ev.at)
            if learning:
                if held is not None:
                    held.add(d.name)
                continue
        f = d.check(p, s)
        if f is not None:
            found.append(f)
    return found
