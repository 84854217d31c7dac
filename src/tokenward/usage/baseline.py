"""Per-token baselines: where, with what and how often a token is used, learned event by event.

`Profile.observe` is the hot path: for an event like the ones before it, it only bumps counters and
returns 0. Anything new (address, agent, endpoint, time bucket, gap, country flip, threshold crossed)
comes back as trigger bits; the monitor then runs the detectors for those bits against the baseline
as it was, and only afterwards calls `Profile.learn` to add the new things to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from tokenward.usage.agents import Agent
from tokenward.usage.events import EventRow, UsageEvent
from tokenward.usage.geo import GeoPlace, prefix

# trigger bits
NEW_IP, NEW_AGENT, NEW_ACTION, RATE, ERRORS, NEW_HOUR, GAP, FLIP, ALWAYS = (1 << i for i in range(9))

BUCKET = 600  # seconds per rate bucket
BUCKETS_PER_HOUR = 3600 // BUCKET
HOURS = 168
WEEK_OFFSET = 72  # 1970-01-01 was a Thursday: hour-of-week counted from Monday 00:00 UTC
CAPS = {"ips": 256, "prefixes": 128, "countries": 64, "asns": 64, "agents": 32, "uas": 64, "actions": 512}
IPS_CAP = CAPS["ips"]  # read on the hot path
OTHER = "*other*"
KEYED = ("uas", "actions", "denied_actions")  # dicts whose keys may be None: stored as pairs
NO_THRESHOLD = 1 << 62
NO_AGENT: Any = object()  # the agent memo before any agent was looked up: equal to no user agent (not even None)
MEMO = ("ua_memo", "family_memo", "roll_at", "window")  # slots that only speed observe up: never stored


@dataclass(frozen=True)
class Tuning:
    """Baseline parameters: learning period, rate statistics and windows (seconds)."""

    learn_seconds: float = 7 * 86400
    learn_events: int = 30
    learn_buckets: int = 24
    rate_floor: int = 15
    rate_factor: float = 3.0
    rate_sigmas: float = 10.0
    denied_floor: int = 20
    denied_factor: float = 4.0
    alpha: float = 0.05
    peak_decay: float = 0.999
    dormant_seconds: float = 30 * 86400  # baselines saved before pauses were learned: dormant after this
    dormant_floor: float = 3 * 86400  # a pause shorter than this is never dormancy
    dormant_factor: float = 4.0  # dormant: a pause this many times the token's longest pause so far
    concurrent_seconds: float = 600


DEFAULT_TUNING = Tuning()


def counts(table: dict[Any, Any]) -> dict[str, int]:
    """{key: count} of a baseline table whose values are counts or [count, …] records."""
    return {str(k): (v[0] if isinstance(v, list) else v) for k, v in table.items()}


def hour_of_week(seconds: float) -> int:
    """0 = Monday 00:00-01:00 UTC … 167 = Sunday 23:00-24:00 UTC."""
    return (int(seconds) // 3600 + WEEK_OFFSET) % HOURS


def floated(value: float) -> float:
    """value as a float when that is the same number (comparing a float with an int costs several times more)."""
    as_float = float(value)
    return as_float if as_float == value else value


def rolls_at(bucket: Any) -> float:
    """A time no later than the start of the first bucket after bucket: int(at) // BUCKET > bucket only when at is
    at least this (for a whole bucket >= 0, exactly then; any other stored value is checked on every event)."""
    if type(bucket) is not int or bucket < 0:
        return -math.inf
    start = (bucket + 1) * BUCKET
    try:
        at = float(start)  # a float: comparing floats costs far less than comparing a float with an int
    except OverflowError:
        return -math.inf
    return at if at <= start else math.nextafter(at, -math.inf)


def _evict(table: dict[Any, Any], cap: int, count: Callable[[Any], Any] | None = None) -> None:
    """Drop the least used half of table when it is full (keeps memory bounded per token)."""
    if len(table) < cap:
        return
    ranked = sorted(table, key=count or (lambda k: table[k]))
    for key in ranked[: len(ranked) // 2]:
        del table[key]


class Profile:
    """The learned baseline of one token (mutable; persisted as JSON by usage.state)."""

    __slots__ = (
        "action_new_at",
        "actions",
        "agent_new_at",
        "agents",
        "asns",
        "bucket",
        "bucket_line",
        "buckets",
        "cc",
        "cc_at",
        "countries",
        "denied",
        "denied_actions",
        "denied_peak",
        "denied_thr",
        "dev",
        "dormant",
        "errors",
        "events",
        "family_memo",
        "first_at",
        "flips",
        "gap",
        "how",
        "ips",
        "last_at",
        "last_ip",
        "longest",
        "mean",
        "n",
        "nden",
        "other_at",
        "other_cc",
        "peak",
        "prefix_new_at",
        "prefixes",
        "prev_at",
        "roll_at",
        "scopes",
        "thr",
        "token_id",
        "tuning",
        "ua_memo",
        "uas",
        "window",
    )

    def __init__(self, token_id: str, tuning: Tuning = DEFAULT_TUNING) -> None:
        self.token_id, self.tuning = token_id, tuning
        self.first_at = self.last_at = self.prev_at = self.cc_at = self.other_at = self.gap = 0.0
        self.longest = 0.0  # the longest pause between two uses so far: the token's own rhythm
        self.dormant = floated(tuning.dormant_floor)  # a pause longer than this wakes the dormancy detector
        self.window = floated(tuning.concurrent_seconds)
        self.agent_new_at = self.action_new_at = self.prefix_new_at = 0.0
        self.events = self.errors = self.denied = self.buckets = self.flips = 0
        self.ips: dict[str, list[Any]] = {}  # ip -> [events, country, first seen]
        self.prefixes: dict[str, list[Any]] = {}  # network -> [addresses seen, country, asn]
        self.countries: dict[str, int] = {}  # country -> addresses seen there
        self.asns: dict[str, int] = {}
        self.agents: dict[str, int] = {}  # family -> events
        self.uas: dict[str | None, str] = {}  # raw user agent -> family (fast path)
        self.ua_memo: Any = NO_AGENT  # the raw agent observe last found in uas, and its family: a token's
        self.family_memo = ""  # events mostly repeat one agent, and comparing it costs less than hashing it
        self.actions: dict[str | None, list[Any]] = {}  # action -> [events, last seen]
        self.denied_actions: dict[str | None, int] = {}
        self.how = [0] * HOURS
        self.bucket = self.n = self.nden = self.bucket_line = 0
        self.roll_at = float(BUCKET)  # no time before this starts a new bucket (rolls_at)
        self.mean = self.dev = self.peak = self.denied_peak = 0.0
        self.thr = self.denied_thr = NO_THRESHOLD
        self.cc = self.other_cc = ""
        self.last_ip: str | None = None
        self.scopes: str | None = None

    # -- hot path -------------------------------------------------------------------------------

    def observe(self, ev: EventRow) -> int:
        """Count ev against the baseline; the trigger bits of whatever was new (0 for an ordinary event)."""
        at, _, _, _, ip, agent, act, status, line, _, _, _ = ev  # one unpack: cheaper than seven field reads
        trig = 0
        last = self.last_at
        if at > last:
            if self.events:
                pause = at - last
                if pause > self.dormant:
                    trig = GAP  # learn() takes the pause into the rhythm, after the detectors saw it
                    self.gap = pause
                elif pause > self.longest:
                    self._pause(pause)
            self.last_at = at
        self.prev_at = last
        if not at < self.roll_at:  # a float comparison spares most events int(at) // BUCKET
            b = int(at) // BUCKET
            if b > self.bucket:
                trig |= self._roll(b, line)
        n = self.n = self.n + 1
        if n == self.thr:
            trig |= RATE
        if status >= 400:
            trig |= self._failed(status, act)
        if ip is not None:
            rec = self.ips.get(ip)
            if rec is None:
                net = self.prefixes.get(prefix(ip))
                if net is None:
                    trig |= NEW_IP  # a new network: the detectors look at it
                else:
                    trig |= self._add_ip(ip, net, at)  # another address of a known network: learned at once
            else:
                rec[0] += 1
                if rec[1] != self.cc:
                    trig |= self._country(rec[1], at)
                else:
                    self.cc_at = at
                self.last_ip = ip
        if agent == self.ua_memo:  # what uas.get(agent) gives: learn() forgets the memo whenever uas changes
            family: str | None = self.family_memo
        else:
            family = self.uas.get(agent)
            if family is not None:
                self.ua_memo, self.family_memo = agent, family
        if family is None:
            trig |= NEW_AGENT
        else:
            agents = self.agents
            agents[family] = agents.get(family, 0) + 1
        seen = self.actions.get(act)
        if seen is None:
            trig |= NEW_ACTION
        else:
            seen[0] += 1
            seen[1] = at
        self.events += 1
        return trig

    def _failed(self, status: int, action: str | None) -> int:
        """Count a failed request (a denied one per action too); ERRORS when denials cross the threshold."""
        self.errors += 1
        if status not in (401, 403):
            return 0
        self.denied += 1
        self.denied_actions[action] = self.denied_actions.get(action, 0) + 1
        self.nden += 1
        return ERRORS if self.nden == self.denied_thr else 0

    def _add_ip(self, ip: str, net: list[Any], at: float) -> int:
        """Remember an address of a known network (its country is the network's)."""
        ips = self.ips
        if len(ips) >= IPS_CAP:
            for old in list(islice(ips, len(ips) // 2)):  # the oldest half, without sorting
                del ips[old]
        net[0] += 1
        cc = net[1]
        ips[ip] = [1, cc, at]
        if cc:
            countries = self.countries
            countries[cc] = countries.get(cc, 0) + 1
        self.last_ip = ip
        if cc != self.cc:
            return self._country(cc, at)
        self.cc_at = at
        return 0

    def _country(self, cc: str, at: float) -> int:
        """Track the last two countries; FLIP when use goes A→B→A within the concurrency window."""
        if not cc:
            return 0
        flip = 0
        if cc == self.other_cc and at - self.other_at < self.window and at - self.cc_at < self.window:
            flip = FLIP
            self.flips += 1
        if self.cc:
            self.other_cc, self.other_at = self.cc, self.cc_at
        self.cc, self.cc_at = cc, at
        return flip

    def _roll(self, bucket: int, line: int) -> int:
        """Close the current rate bucket into the statistics and set the next bucket's thresholds.

        Returns NEW_HOUR when the new bucket falls in an hour of the week this token was never active in.
        """
        n, t = self.n, self.tuning
        if n >= self.thr:
            n = int(self.peak) or n  # a spike is not learned as normal: the next one alerts again (throttled)
        if n:
            self.how[(self.bucket // BUCKETS_PER_HOUR + WEEK_OFFSET) % HOURS] += n
            self.buckets += 1
            a = t.alpha if self.buckets * t.alpha > 1.0 else 1.0 / self.buckets
            d = n - self.mean
            self.dev += a * ((d if d > 0 else -d) - self.dev)
            self.mean += a * d
            peak = self.peak * t.peak_decay
            self.peak = n if n > peak else peak
            if self.nden or self.denied_peak:
                peak = self.denied_peak * t.peak_decay
                self.denied_peak = self.nden if self.nden > peak else peak
        self.bucket, self.n, self.nden, self.bucket_line = bucket, 0, 0, line
        self.roll_at = rolls_at(bucket)
        if self.buckets < t.learn_buckets:
            return 0
        self.thr = max(t.rate_floor, int(t.rate_factor * self.peak) + 1, int(self.mean + t.rate_sigmas * self.dev) + 1)
        self.denied_thr = max(t.denied_floor, int(t.denied_factor * self.denied_peak) + 1)
        return 0 if self.how[(bucket // BUCKETS_PER_HOUR + WEEK_OFFSET) % HOURS] else NEW_HOUR

    def _pause(self, pause: float) -> None:
        """A pause longer than any before: dormancy is now relative to it (with a floor of a few days)."""
        t = self.tuning
        self.longest = pause
        self.dormant = floated(max(t.dormant_floor, t.dormant_factor * pause))

    # -- slow path ------------------------------------------------------------------------------

    def learning(self, at: float) -> bool:
        """True while the token's baseline is too young for novelty detectors."""
        t = self.tuning
        return self.events <= t.learn_events or at - self.first_at < t.learn_seconds

    def learn(self, ev: UsageEvent, trig: int, place: GeoPlace | None, agent: Agent | None) -> None:
        """Add what was new in ev to the baseline (after the detectors have looked)."""
        if not self.first_at or ev.at < self.first_at:
            self.first_at = ev.at
        if trig & GAP and self.gap > self.longest:
            self._pause(self.gap)
        if trig & NEW_IP and ev.ip is not None:
            self._learn_ip(ev.ip, ev.at, place or GeoPlace())
        if trig & NEW_AGENT:
            self.ua_memo = NO_AGENT  # uas changes (and may lose the memo's agent)
            _evict(self.uas, CAPS["uas"], lambda k: 0)
            family = agent.family if agent else "none"
            if family not in self.agents:
                _evict(self.agents, CAPS["agents"])
                self.agents[family] = 0
                self.agent_new_at = ev.at
            self.uas[ev.agent] = family
            self.agents[family] = self.agents.get(family, 0) + 1
        if trig & NEW_ACTION:
            self._learn_action(ev.action, ev.at)
        if ev.scopes:
            self.scopes = ev.scopes

    def _learn_ip(self, ip: str, at: float, place: GeoPlace) -> None:
        net = prefix(ip)
        if net not in self.prefixes:
            _evict(self.prefixes, CAPS["prefixes"], lambda k: self.prefixes[k][0])
            self.prefixes[net] = [0, place.country or "", place.asn]
            self.prefix_new_at = at
            if place.asn is not None:
                self.asns[str(place.asn)] = self.asns.get(str(place.asn), 0) + 1
        self._add_ip(ip, self.prefixes[net], at)

    def _learn_action(self, action: str | None, at: float) -> None:
        if len(self.actions) >= CAPS["actions"]:
            other = self.actions.setdefault(OTHER, [0, at])
            other[0] += 1
            return
        self.actions[action] = [1, at]
        self.action_new_at = at
        if len(self.denied_actions) > CAPS["actions"]:
            self.denied_actions.clear()

    # -- persistence ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able snapshot of the baseline."""
        data = {k: getattr(self, k) for k in self.__slots__ if k not in ("tuning", "dormant", *KEYED, *MEMO)}
        for k in KEYED:
            data[k] = [[key, v] for key, v in getattr(self, k).items()]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], tuning: Tuning = DEFAULT_TUNING) -> Profile:
        """The Profile a to_dict snapshot describes."""
        p = cls(str(data["token_id"]), tuning)
        for key, value in data.items():
            if key in KEYED:
                setattr(p, key, {k: v for k, v in value})
            elif key in cls.__slots__ and key not in ("tuning", "dormant", *MEMO):
                setattr(p, key, value)
        if "longest" not in data and p.events:  # saved before pauses were learned: the old fixed threshold
            p.longest = tuning.dormant_seconds / tuning.dormant_factor
        p.dormant = floated(max(tuning.dormant_floor, tuning.dormant_factor * p.longest))
        p.roll_at = rolls_at(p.bucket)
        return p
