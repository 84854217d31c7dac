"""Profile.observe's shortcuts (agent memo, bucket start as a float, float thresholds) change no result.

The reference below is observe as written before the shortcuts: uas looked up for every event, the bucket
computed for every event, pauses and the concurrency window compared with the tuning's own values. Both are fed
the same random events (with learn() after every trigger, as the monitor calls it) and must return the same
trigger bits and store the same baseline, through agent evictions, out-of-order times, odd stored buckets and
tunings whose values are ints, floats or ints no float holds.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any

import pytest

from tokenward.usage.agents import Agents
from tokenward.usage.baseline import (
    BUCKET,
    FLIP,
    GAP,
    NEW_ACTION,
    NEW_AGENT,
    NEW_IP,
    RATE,
    Profile,
    Tuning,
    floated,
    rolls_at,
)
from tokenward.usage.events import AWS_KEY_ID, UsageEvent
from tokenward.usage.geo import GeoPlace, prefix


class Reference(Profile):
    """Profile with the straightforward observe (and the helpers it used) of before the shortcuts (no __slots__ of
    its own: to_dict and from_dict read Profile's)."""

    def observe(self, ev: UsageEvent) -> int:
        at, ip, agent, act, status, line = ev.at, ev.ip, ev.agent, ev.action, ev.status, ev.line
        trig, last = 0, self.last_at
        if at > last:
            if self.events:
                pause = at - last
                if pause > self.dormant:
                    trig, self.gap = GAP, pause
                elif pause > self.longest:
                    self._pause(pause)
            self.last_at = at
        self.prev_at = last
        b = int(at) // BUCKET
        if b > self.bucket:
            trig |= self._roll(b, line)
        self.n += 1
        trig |= RATE if self.n == self.thr else 0
        if status >= 400:
            trig |= self._failed(status, act)
        trig |= self._ip(ip, at)
        family = self.uas.get(agent)
        if family is None:
            trig |= NEW_AGENT
        else:
            self.agents[family] = self.agents.get(family, 0) + 1
        seen = self.actions.get(act)
        if seen is None:
            trig |= NEW_ACTION
        else:
            seen[0] += 1
            seen[1] = at
        self.events += 1
        return trig

    def _ip(self, ip: str | None, at: float) -> int:
        if ip is None:
            return 0
        rec = self.ips.get(ip)
        if rec is None:
            net = self.prefixes.get(ip.rsplit(".", 1)[0] + ".0/24" if ":" not in ip else prefix(ip))
            return NEW_IP if net is None else self._add_ip(ip, net, at)
        rec[0] += 1
        self.last_ip = ip
        if rec[1] != self.cc:
            return self._country(rec[1], at)
        self.cc_at = at
        return 0

    def _country(self, cc: str, at: float) -> int:
        if not cc:
            return 0
        window, flip = self.tuning.concurrent_seconds, 0
        if cc == self.other_cc and at - self.other_at < window and at - self.cc_at < window:
            flip = FLIP
            self.flips += 1
        if self.cc:
            self.other_cc, self.other_at = self.cc, self.cc_at
        self.cc, self.cc_at = cc, at
        return flip

    def _pause(self, pause: float) -> None:
        t = self.tuning
        self.longest = pause
        self.dormant = max(t.dormant_floor, t.dormant_factor * pause)


AGENTS = [None, "curl/8.4", "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux", "aws-cli/2.15.0 Python/3.11.6",
          "python-requests/2.31", "Go-http-client/1.1", "sqlmap/1.7", "Mozilla/5.0 (X11; Linux x86_64)"]
COUNTRIES = ["US", "DE", "FR", "", "JP"]


def events(rng: random.Random, n: int) -> list[UsageEvent]:
    """n events of one token: times mostly rising (pauses of seconds to weeks, some going back), a few networks in
    a few countries, agents from a short list and now and then a new one (so uas fills and is evicted)."""
    at, out = 1741000000.0 + rng.random(), []
    for line in range(1, n + 1):
        at += rng.choice((0.0, rng.random(), rng.expovariate(1 / 60), rng.expovariate(1 / 3600),
                          -rng.random() * 900, rng.choice((4, 9, 40)) * 86400.0))
        agent = rng.choice(AGENTS) if rng.random() < 0.9 else f"tool/{rng.randrange(200)}"
        ip = None if rng.random() < 0.03 else rng.choice((f"10.{rng.randrange(4)}.0.{rng.randrange(300)}",
                                                            f"2001:db8:{rng.randrange(3)}::{rng.randrange(50)}"))
        out.append(UsageEvent(at, AWS_KEY_ID, "AKIAEXAMPLEKEY00001", "aws", ip, agent,
                              f"s3:Op{rng.randrange(12)}" if rng.random() < 0.97 else None,
                              rng.choice((200, 200, 200, 200, 403, 401, 500, 404)), line))
    return out


def feed(p: Profile, evs: list[UsageEvent], rng: random.Random) -> list[int]:
    """Observe each event; learn after every trigger with a place and an agent drawn from rng."""
    trigs, classify = [], Agents().classify
    for ev in evs:
        trig = p.observe(ev)
        trigs.append(trig)
        if trig:
            place = GeoPlace(rng.choice(COUNTRIES) or None, rng.choice((None, 64500, 64501)))
            p.learn(ev, trig, place, classify(ev.agent) if trig & NEW_AGENT else None)
    return trigs


def stored(p: Profile) -> str:
    return json.dumps(p.to_dict(), sort_keys=True)


TUNINGS = [Tuning(), Tuning(learn_buckets=3, learn_events=5, rate_floor=3, denied_floor=2),
           Tuning(concurrent_seconds=600.5, dormant_floor=2.5 * 86400, dormant_factor=3),
           Tuning(concurrent_seconds=(1 << 60) + 1, dormant_floor=(1 << 60) + 1, learn_buckets=2)]


@pytest.mark.parametrize("seed", range(12))
def test_observe_gives_what_the_reference_gives(seed: int) -> None:
    rng = random.Random(seed)
    tuning = TUNINGS[seed % len(TUNINGS)]
    evs = events(rng, 3000)
    fast, ref = Profile("t", tuning), Reference("t", tuning)
    cut = rng.randrange(len(evs))
    a = feed(fast, evs[:cut], random.Random(seed))
    b = feed(ref, evs[:cut], random.Random(seed))
    assert a == b and stored(fast) == stored(ref)
    fast = Profile.from_dict(json.loads(stored(fast)), tuning)  # a stored baseline read back mid-stream
    ref = Reference.from_dict(json.loads(stored(ref)), tuning)
    assert feed(fast, evs[cut:], random.Random(seed + 1)) == feed(ref, evs[cut:], random.Random(seed + 1))
    assert stored(fast) == stored(ref)
    assert any(t & NEW_AGENT for t in a + b) and len(fast.uas) > 1


@pytest.mark.parametrize("bucket", [0, 5, 2901666, -3, 2.5, 10**30, (1 << 53) // BUCKET + 7])
def test_an_odd_stored_bucket_rolls_as_the_reference_rolls(bucket: Any) -> None:
    rng = random.Random(7)
    data = {**Profile("t").to_dict(), "bucket": bucket, "events": 3}
    fast, ref = Profile.from_dict(data), Reference.from_dict(data)
    stamps = [-700.0, -0.5, 0.0, 599.999, 600.0, 1741000000.0, 1741000000.0 + BUCKET * 3, 1e18, 1e30 * BUCKET + 1]
    for at in stamps + sorted(rng.uniform(-1e4, 2e9) for _ in range(200)):
        ev = UsageEvent(at, AWS_KEY_ID, "AKIAEXAMPLEKEY00001", "aws", None, None, None, 200, 1)
        assert outcome(fast, ev) == outcome(ref, ev), at
        assert stored(fast) == stored(ref)


def outcome(p: Profile, ev: UsageEvent) -> tuple[str, Any]:
    """observe's trigger bits, or the type of what it raised (a stored bucket of 2.5 fails as it always did)."""
    try:
        return "ok", p.observe(ev)
    except (TypeError, ValueError, OverflowError) as exc:
        return "raised", type(exc)


def test_rolls_at_is_a_lower_bound_of_the_next_bucket() -> None:
    for bucket in [0, 1, 2901666, (1 << 53) // BUCKET, (1 << 53) // BUCKET + 1, 10**20 + 1, 10**300]:
        start = rolls_at(bucket)
        assert start <= (bucket + 1) * BUCKET
        assert int(start) // BUCKET == bucket + 1 if start == (bucket + 1) * BUCKET else start < (bucket + 1) * BUCKET
    assert rolls_at(-1) == rolls_at(2.5) == float("-inf")


@pytest.mark.parametrize("value", [0, 600, 259200, 600.5, (1 << 60) + 1, float("inf"), True])
def test_floated_is_the_same_number(value: Any) -> None:
    got = floated(value)
    assert got == value and (type(got) is float or float(value) != value)


def test_prefix_is_what_the_plain_split_gives() -> None:
    rng = random.Random(3)
    alphabet = "0123456789.:abcdef"
    texts = ["", ".", "..", "1.2.3.4", "1.2.3.", ".1", "nodot", "10.0.0.255", "::1", "fe80::1"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(12))) for _ in range(3000)]
    for text in texts:
        if ":" not in text:
            assert prefix(text) == text.rsplit(".", 1)[0] + ".0/24", text


def test_the_agent_memo_follows_an_evicted_agent() -> None:
    tuning = replace(Tuning(), learn_events=0)
    p, ref = Profile("t", tuning), Reference("t", tuning)
    classify = Agents().classify
    for i in range(400):  # 70 distinct agents through a 64-entry table, the first one coming back every time
        for agent in ("first/1", f"tool/{i % 70}"):
            ev = UsageEvent(1741000000.0 + i, AWS_KEY_ID, "AKIAEXAMPLEKEY00001", "aws", None, agent, "a", 200, i)
            t1, t2 = p.observe(ev), ref.observe(ev)
            assert t1 == t2
            if t1:
                p.learn(ev, t1, None, classify(agent) if t1 & NEW_AGENT else None)
                ref.learn(ev, t2, None, classify(agent) if t2 & NEW_AGENT else None)
    assert stored(p) == stored(ref)
